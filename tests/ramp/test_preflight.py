from __future__ import annotations

import json
from contextlib import ExitStack
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from ramp.models import Hold, PreflightRun
from ramp.preflight import run_preflight
from tests.factories import make_campaign, make_card, make_lead
from tests.ramp.helpers import dead_port, dispatch_worker, strict_settings, stub_ghl

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def healthy(redis_conn):
    """Everything preflight looks at is healthy: strict flags, Redis, a dispatch worker, GHL accepting the token."""
    with ExitStack() as stack:
        base_url, seen = stack.enter_context(stub_ghl(200))
        stack.enter_context(override_settings(GHL_BASE_URL=base_url, **strict_settings()))
        stack.enter_context(dispatch_worker())
        yield seen


def failed(run: PreflightRun) -> dict[str, str]:
    return {row["id"]: row["detail"] for row in run.results if not row["passed"]}


def test_it_passes_when_everything_is_healthy(healthy):
    run = run_preflight(ran_by="pto")
    assert run.passed, failed(run)
    assert [row["id"] for row in run.results] == [f"P{n:02d}" for n in range(1, 11)]
    # The GHL probe is an authenticated GET with the configured token.
    assert healthy[0]["path"].startswith("/contacts/search/duplicate") and healthy[0]["authorization"].startswith("Bearer ")
    assert not Hold.objects.exists()


def test_it_fails_when_redis_is_down(healthy):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{dead_port()}/0"):
        run = run_preflight()
    problems = failed(run)
    assert "P02" in problems and "Redis is not reachable" in problems["P02"]
    assert "Redis unreachable" in problems["P03"]
    assert Hold.objects.active().get().source == "preflight"


def test_it_fails_when_no_dispatch_worker_is_alive(redis_conn):
    with stub_ghl(200) as (base_url, _), override_settings(GHL_BASE_URL=base_url, **strict_settings()):
        run = run_preflight()
    assert list(failed(run)) == ["P03"]
    assert "no worker listens on the 'dispatch' queue" in failed(run)["P03"]


def test_it_fails_when_ghl_rejects_the_token(healthy):
    with stub_ghl(401) as (base_url, _), override_settings(GHL_BASE_URL=base_url):
        run = run_preflight()
    assert list(failed(run)) == ["P05"]
    assert failed(run)["P05"].startswith("GHL rejected the token (HTTP 401)")


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


def test_a_failure_notifies_slack_without_the_url_in_the_text(healthy):
    with stub_ghl(200) as (slack_url, slack_seen), override_settings(SLACK_WEBHOOK_URL=slack_url + "/hook", REDIS_REQUIRED=False):
        run = run_preflight()
    assert not run.passed
    texts = [json.loads(entry["body"])["text"] for entry in slack_seen]
    assert any("preflight failed" in text and "P04" in text for text in texts)


def test_the_command_prints_rows_and_exits_non_zero_on_failure(healthy):
    out = StringIO()
    call_command("preflight", "--by", "pto", stdout=out)
    assert "P01 PASS Database and migrations" in out.getvalue()
    assert "10 of 10 checks passed" in out.getvalue()
    with override_settings(REDIS_REQUIRED=False), pytest.raises(CommandError, match="Preflight failed: P04"):
        call_command("preflight", stdout=StringIO())


def test_the_command_json_is_one_document(healthy):
    out = StringIO()
    with override_settings(REDIS_REQUIRED=False), pytest.raises(CommandError):
        call_command("preflight", "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert document["passed"] is False
    assert {row["id"] for row in document["checks"] if not row["passed"]} == {"P04"}
    assert document["holds"] and "preflight" in document["holds"][0]


def test_it_passes_against_the_ghl_sandbox_with_the_configured_token(ghl_sandbox, settings, redis_conn):
    for name, value in strict_settings().items():
        if name != "GHL_LOCATION_ID":
            setattr(settings, name, value)
    with dispatch_worker():
        run = run_preflight()
    assert run.passed, failed(run)


def test_it_fails_when_the_ghl_sandbox_rejects_the_token(ghl_sandbox, settings, redis_conn):
    for name, value in strict_settings().items():
        if name != "GHL_LOCATION_ID":
            setattr(settings, name, value)
    settings.GHL_TOKEN = "rotated-away"
    with dispatch_worker():
        run = run_preflight()
    assert list(failed(run)) == ["P05"]
    assert failed(run)["P05"].startswith("GHL rejected the token (HTTP 401)")
    # The token never appears in what is recorded.
    assert "rotated-away" not in json.dumps(run.results)
