"""Acceptance 1: each failure the model sandbox produces is a drafting error naming its reason, never a card;
a retry that fixes it produces a card. Real HTTP to the sandbox on loopback, through pydantic-ai."""

from __future__ import annotations

import pytest

from outreach.drafting.pipeline import run_pipeline
from outreach.models import ModelCall, PendingEmail
from tests.factories import make_lead
from tests.model_drafting.conftest import OFFER, PROOF, make_model_campaign

pytestmark = pytest.mark.django_db

# Each kind and the words its drafting error must name.
REASONS = {
    "invented_claim": "globex",
    "banned_phrase": "banned phrase “i hope this email finds you well”",
    "placeholder": "No placeholders",
    "malformed": "malformed output",
    "timeout": "model timeout",
}


def draft_one(campaign):
    return run_pipeline(source="wpromote", limit=5, campaign_ref=campaign.ref, apply=True)


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_a_failure_every_time_is_a_drafting_error_naming_it_and_no_card(model_sandbox, kind):
    campaign = make_model_campaign()
    lead = make_lead(source="wpromote", company="Wpromote")
    model_sandbox.configure({"script": [kind] * 3})

    report = draft_one(campaign)

    assert report.drafted == [] and not PendingEmail.objects.exists()
    [error] = report.errors
    assert (error.lead_id, error.stage) == (lead.pk, "drafting")
    assert REASONS[kind] in error.message, error.message
    call = ModelCall.objects.get()
    assert not call.ok and REASONS[kind] in call.reasons and call.attempts >= 1
    assert model_sandbox.script == []  # it tried three times: one draft and the two retries


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_a_retry_that_fixes_it_makes_a_card(model_sandbox, kind):
    campaign = make_model_campaign()
    make_lead(source="wpromote", company="Wpromote")
    model_sandbox.configure({"script": [kind, "ok"]})

    report = draft_one(campaign)

    assert report.errors == []
    card = PendingEmail.objects.get(pk__in=report.drafted)
    assert card.drafter == "model" and card.compliance_passed
    assert card.draft_attempts == 2 and card.tokens_in > 0 and card.cost > 0
    assert card.prompt_version == f"{campaign.ref}:s1:p1" and card.model_name == "caio-sandbox-1"
    assert {claim["fact"] for claim in card.claims} == {"lead.company", OFFER, PROOF}
    assert "Globex" not in card.body and "{{" not in card.body


def test_a_template_step_stays_with_the_template_drafter(model_sandbox):
    campaign = make_model_campaign()
    step = campaign.steps.get(number=1)
    step.drafter = "template"
    step.save()
    make_lead(source="wpromote")

    report = draft_one(campaign)

    card = PendingEmail.objects.get(pk__in=report.drafted)
    assert card.drafter == "template" and card.claims == [] and not ModelCall.objects.exists()
    assert sum(model_sandbox.stats.values()) == 0


@pytest.mark.slow
def test_manage_py_model_sandbox_serves_on_loopback_with_the_rates_given(settings, tmp_path):
    """The command the demo runs: a real process, drafting one card through it."""
    import json
    import subprocess
    import sys
    import urllib.request

    import socket

    from tests.dispatch.conftest import ProcessEnv

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "manage.py", "model_sandbox", "--port", str(port), "--rates", '{"placeholder": 1.0}'],
        stdout=subprocess.PIPE, text=True, env=ProcessEnv(settings, tmp_path).env(),
    )
    try:
        assert f"Model sandbox at http://127.0.0.1:{port}/v1" in process.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/config", timeout=5) as answer:
            assert json.load(answer)["rates"] == {"placeholder": 1.0}
        settings.MODEL_BASE_URL = f"http://127.0.0.1:{port}/v1"
        campaign = make_model_campaign()
        make_lead(source="wpromote", company="Wpromote")
        report = draft_one(campaign)
        assert report.drafted == [] and "No placeholders" in report.errors[0].message
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_key_is_never_in_an_error_a_record_or_the_logs(model_sandbox, settings, caplog):
    settings.MODEL_API_KEY = "sk-test-never-shown-0123456789"
    campaign = make_model_campaign()
    make_lead(source="wpromote", company="Wpromote")
    model_sandbox.configure({"script": ["timeout", "malformed", "placeholder", "malformed", "placeholder", "malformed"] * 2})

    with caplog.at_level("DEBUG"):
        report = draft_one(campaign)

    from outreach.drafting.model import ModelDrafter

    texts = [error.message for error in report.errors] + [call.reasons for call in ModelCall.objects.all()]
    texts += [caplog.text, repr(ModelDrafter())]
    assert report.errors and not any(settings.MODEL_API_KEY in text for text in texts)
