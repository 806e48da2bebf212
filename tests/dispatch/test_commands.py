"""`manage.py dispatch`: dry run by default, gated live cycle, clear output."""

from __future__ import annotations

import json
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.test import TestCase

from outreach.models import CardStatus, PendingEmail
from ramp.holds import raise_hold
from ramp.models import RampDay
from tests.dispatch.helpers import approved_card, green_gates

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def _run(*args, **kwargs) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    _dispatch(*args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def _dispatch(*args, **kwargs) -> None:
    # Jobs are enqueued when the claim commits: run those callbacks as the commit would,
    # instead of a transactional test that flushes the database after each test.
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("dispatch", *args, **kwargs)


def test_the_default_is_a_dry_run_that_explains_every_card(redis_conn):
    green_gates(daily_cap=1)
    first, second = approved_card(), approved_card()

    out, _ = _run()

    assert "DRY RUN" in out
    assert f"Would send now (1):\n  {first.lead.email}" in out
    assert f"{second.lead.email}" in out and "over today's cap of 1: 0 claimed earlier today and 1 chosen in this cycle" in out
    assert "Summary: 1 would be sent, 1 held back, 0 gate(s) red." in out
    assert PendingEmail.objects.filter(status=CardStatus.APPROVED).count() == 2


def test_the_dry_run_prints_holds_and_json(redis_conn):
    approved_card()
    raise_hold(reason="bounce rate 9%", source="bounce_rate")

    out, err = _run()
    assert "hold #" in err and "bounce rate 9%" in err
    assert "Gates are red, nothing would be sent now" in out
    # "Eligible" means one thing (no rule holds it back): this list is what the caps would also let through.
    assert "Would send once the gates are green (1):" in out

    out, _ = _run("--json")
    document = json.loads(out)
    assert document["mode"] == "dry-run" and document["would_send"] == []
    assert any("bounce rate 9%" in blocker for blocker in document["blockers"])


def test_live_needs_an_operator_with_the_permission(outsider, redis_conn):
    green_gates()
    approved_card()
    with pytest.raises(CommandError, match="--live needs --operator"):
        _run("--live")
    with pytest.raises(CommandError, match="No active user named 'ghost'"):
        _run("--live", "--operator", "ghost")
    with pytest.raises(CommandError, match="lacks the live-cycle permission"):
        _run("--live", "--operator", "outsider", "--noinput")
    assert PendingEmail.objects.get().status == CardStatus.APPROVED


def test_live_refuses_while_a_hold_is_active(operator, redis_conn):
    green_gates()
    approved_card()
    raise_hold(reason="manual stop", raised_by="pto")
    with pytest.raises(CommandError, match="manual stop"):
        _run("--live", "--operator", "operator", "--noinput")
    assert PendingEmail.objects.get().status == CardStatus.APPROVED


def test_live_refuses_without_a_fresh_passed_preflight(operator, redis_conn):
    green_gates()
    from ramp.models import PreflightRun

    PreflightRun.objects.update(passed=False)
    approved_card()
    with mock.patch("outreach.sending.gates.ensure_fresh_preflight", return_value=""), pytest.raises(
        CommandError, match="last preflight"
    ):
        _run("--live", "--operator", "operator", "--noinput")


def test_live_asks_for_confirmation(operator, redis_conn):
    green_gates()
    approved_card()
    with mock.patch("builtins.input", return_value="no"), pytest.raises(CommandError, match="Cancelled"):
        _run("--live", "--operator", "operator")
    assert PendingEmail.objects.get().status == CardStatus.APPROVED

    with mock.patch("builtins.input", return_value="yes"):
        out, _ = _run("--live", "--operator", "operator")
    assert "Claimed 1 card(s)" in out
    assert PendingEmail.objects.get().status == CardStatus.QUEUED
    assert RampDay.objects.get().dispatched_count == 1


def test_live_with_noinput_and_limit_claims_and_reports_json(operator, redis_conn):
    green_gates(daily_cap=5)
    for _ in range(3):
        approved_card()
    out, _ = _run("--live", "--operator", "operator", "--limit", "2", "--json")
    document = json.loads(out)
    assert document["mode"] == "live" and len(document["claimed"]) == 2 and document["dispatched_after"] == 2
    import django_rq

    assert len(django_rq.get_queue("dispatch").job_ids) == 2


def test_it_rejects_a_bad_limit():
    with pytest.raises(CommandError, match="--limit must be"):
        _run("--limit", "0")


def _recorded_preflight(passed: bool):
    from ramp.models import PreflightRun

    def run_preflight(*, ran_by: str = "", **kwargs):
        return PreflightRun.objects.create(
            passed=passed, ran_by=ran_by, results=[{"name": "GHL reachable", "passed": passed, "detail": ""}]
        )

    return run_preflight


def test_live_runs_the_preflight_in_process_when_none_is_fresh(operator, redis_conn):
    green_gates()
    from ramp.models import PreflightRun

    PreflightRun.objects.all().delete()
    approved_card()
    with mock.patch("outreach.sending.gates.run_preflight", _recorded_preflight(True)):
        out, _ = _run("--live", "--operator", "operator", "--noinput")
    assert "Ran preflight in-process: passed." in out and "Claimed 1 card(s)" in out
    assert PreflightRun.objects.get().ran_by == "operator"


def test_live_refuses_when_the_in_process_preflight_fails(operator, redis_conn):
    green_gates()
    from ramp.models import PreflightRun

    PreflightRun.objects.all().delete()
    approved_card()
    out = StringIO()
    with mock.patch("outreach.sending.gates.run_preflight", _recorded_preflight(False)), pytest.raises(
        CommandError, match="last preflight .* failed"
    ):
        _dispatch("--live", "--operator", "operator", "--noinput", stdout=out, stderr=StringIO())
    assert "Ran preflight in-process: FAILED (GHL reachable)" in out.getvalue()
    assert PendingEmail.objects.get().status == CardStatus.APPROVED
