from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from ramp.models import Hold, PreflightRun
from ramp import services
from ramp.preflight import run_preflight
from ramp.stop_conditions import QueueFacts
from tests.ramp.helpers import quiet_intake
from tests.factories import make_campaign, make_card, make_lead
from tests.ramp.helpers import dead_port, dispatch_worker, strict_settings

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def healthy(redis_conn, ghl_sandbox, settings):
    """Everything preflight looks at is healthy: strict flags, Redis, a dispatch worker, GHL (the sandbox) accepting the token."""
    for name, value in strict_settings().items():
        if name != "GHL_LOCATION_ID":
            setattr(settings, name, value)
    with dispatch_worker():
        yield ghl_sandbox


def failed(run: PreflightRun) -> dict[str, str]:
    return {row["id"]: row["detail"] for row in run.results if not row["passed"]}


def test_it_passes_when_everything_is_healthy(healthy):
    run = run_preflight(ran_by="pto")
    assert run.passed, failed(run)
    assert [row["id"] for row in run.results] == [f"P{n:02d}" for n in range(1, 12)]
    # The GHL probe is one authenticated GET with the configured token.
    [probe] = healthy.requests()
    assert (probe["method"], probe["endpoint"], probe["authorization"], probe["status"]) == ("GET", "contacts.search_duplicate", "Bearer <known token>", 200)
    assert not Hold.objects.exists()


def test_it_fails_when_redis_is_down(healthy):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{dead_port()}/0"):
        run = run_preflight()
    problems = failed(run)
    assert "P02" in problems and "Redis is not reachable" in problems["P02"]
    assert "Redis unreachable" in problems["P03"]
    assert Hold.objects.active().get().source == "preflight"


def test_it_fails_when_no_dispatch_worker_is_alive(redis_conn, ghl_sandbox, settings):
    for name, value in strict_settings().items():
        if name != "GHL_LOCATION_ID":
            setattr(settings, name, value)
    run = run_preflight()
    assert list(failed(run)) == ["P03"]
    assert "no worker listens on the 'dispatch' queue" in failed(run)["P03"]


def test_it_fails_and_holds_when_the_queue_is_inconsistent(healthy):
    campaign = make_campaign(classifier="outbound_tier_1")
    make_card(campaign=campaign, classifier="outbound_tier_2", lead=make_lead(tier="tier_1"))
    run = run_preflight()
    assert list(failed(run)) == ["P06"]
    assert {h.source for h in Hold.objects.active()} == {"queue_inconsistency", "preflight"}


def test_it_fails_on_strict_flags_sla_backlog_and_a_held_ramp(healthy):
    make_card(age_hours=3)  # past the 2-hour decision SLA, not yet stale
    Hold.objects.create(reason="manual", raised_by="pto")
    with override_settings(DASHBOARD_AUTH_STRICT=False):
        run = run_preflight()
    assert set(failed(run)) == {"P04", "P07", "P09"}
    assert "DASHBOARD_AUTH_STRICT" in failed(run)["P04"]


def test_a_failure_notifies_slack_without_the_url_in_the_text(healthy, webhook_receiver):
    slack_url = webhook_receiver.url + "hook-secret-path"
    with override_settings(SLACK_WEBHOOK_URL=slack_url, REDIS_REQUIRED=False):
        run = run_preflight()
    assert not run.passed
    texts = [json.loads(entry["body"])["text"] for entry in webhook_receiver.wait_for(1)]
    assert any("preflight failed" in text and "P04" in text for text in texts), texts
    assert not any("hook-secret-path" in text for text in texts)


def test_the_command_prints_rows_and_exits_non_zero_on_failure(healthy):
    out = StringIO()
    call_command("preflight", "--by", "pto", stdout=out)
    assert "P01 PASS Database and migrations" in out.getvalue()
    assert "11 of 11 checks passed" in out.getvalue()
    failing = StringIO()
    with override_settings(REDIS_REQUIRED=False), pytest.raises(CommandError, match="Preflight failed: P04"):
        call_command("preflight", stdout=failing)
    # The run's own rows first ("no active hold" when it began), then the hold its failure raised.
    text = failing.getvalue()
    assert "P09 PASS" in text
    assert text.index("P09 PASS") < text.index("Preflight #") < text.index("ON HOLD:")
    assert f"hold #{Hold.objects.active().get().pk}" in text.split("ON HOLD:", 1)[1]


def test_the_command_json_is_one_document(healthy):
    out = StringIO()
    with override_settings(REDIS_REQUIRED=False), pytest.raises(CommandError):
        call_command("preflight", "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert document["passed"] is False
    assert {row["id"] for row in document["checks"] if not row["passed"]} == {"P04"}
    assert document["holds"] and "preflight" in document["holds"][0]


def test_it_fails_when_ghl_answers_200_with_an_empty_body(healthy):
    healthy.add_fault("contacts.search_duplicate", "empty")
    run = run_preflight()
    assert list(failed(run)) == ["P05"]
    assert "gave no readable answer: GHL answered 200 with an empty body" in failed(run)["P05"]


def test_it_fails_when_the_ghl_sandbox_rejects_the_token(healthy, settings):
    settings.GHL_TOKEN = "rotated-away"
    run = run_preflight()
    assert list(failed(run)) == ["P05"]
    assert failed(run)["P05"].startswith("GHL rejected the token (HTTP 401)")
    # The token never appears in what is recorded.
    assert "rotated-away" not in json.dumps(run.results)


def test_deliverability_fails_on_the_windows_counts_and_holds(healthy):
    facts = QueueFacts(intake=quiet_intake(), sent=10, bounces=3, bounce_evidence=["bounce:lead:1", "bounce:lead:2", "bounce:lead:3"])
    run = run_preflight(facts_provider=lambda now: facts)
    assert failed(run) == {
        "P08": "bounces 3 of 10 sent (30.0%) against a ceiling of 5%: one-sided exact binomial p=0.012, "
        "count 3 reaches the policy's hold at 3, over the last 7 days."
    }
    # The deliverability hold is the stop; a preflight failing on it (and on the hold) raises no second one.
    assert {h.source for h in Hold.objects.active()} == {"bounce_rate"}
    assert Hold.objects.get().evidence == facts.bounce_evidence


def test_a_cleared_hold_is_not_raised_again_by_the_same_evidence_only_by_new(healthy, pto):
    evidence = ["unsubscribe:lead:1", "unsubscribe:lead:2"]
    run = run_preflight(facts_provider=lambda now: QueueFacts(intake=quiet_intake(), sent=30, unsubscribes=2, unsubscribe_evidence=evidence))
    assert not run.passed
    hold = Hold.objects.active().get()
    assert hold.source == "unsubscribe_rate"
    services.clear(hold_id=hold.pk, by="pto", reason="two bad-fit leads, list fixed")
    run = run_preflight(facts_provider=lambda now: QueueFacts(intake=quiet_intake(), sent=30, unsubscribes=2, unsubscribe_evidence=evidence))
    assert run.passed and not Hold.objects.active().exists()
    # A third unsubscribe is new evidence: held again, covering all three.
    more = [*evidence, "unsubscribe:lead:3"]
    run = run_preflight(facts_provider=lambda now: QueueFacts(intake=quiet_intake(), sent=31, unsubscribes=3, unsubscribe_evidence=more))
    assert not run.passed
    assert Hold.objects.active().get().evidence == more


def test_a_preflight_failing_only_because_a_hold_is_active_raises_no_new_hold(healthy, pto):
    services.raise_person_hold(reason="copy is off", by="pto")
    run = run_preflight(facts_provider=lambda now: QueueFacts(intake=quiet_intake()))
    assert failed(run).keys() == {"P09"}
    assert Hold.objects.count() == 1
