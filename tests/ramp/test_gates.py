from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from caio.models import GateRun
from caio.releases import record_gate_run
from ramp.gates import live_cycle_blockers
from ramp.clean import day_problems, is_clean
from ramp.holds import clear_hold, hold_banner_lines, raise_hold
from ramp.limits import Candidate, plan_claims
from ramp.models import PreflightRun, RampDay, RampPolicy
from tests.ramp.helpers import IN_WINDOW, OUT_OF_WINDOW, live_day, passed_preflight


@pytest.fixture
def green(db):
    """Inside the window, a fresh passed preflight, no hold: the gate is open."""
    with time_machine.travel(IN_WINDOW, tick=False):
        passed_preflight(IN_WINDOW)
        yield


def test_it_opens_when_every_gate_is_green(green):
    assert live_cycle_blockers() == []


def test_a_hold_blocks_the_live_cycle_until_a_person_clears_it(green):
    hold = raise_hold(reason="bounce spike", source="bounce_rate", raised_by="stop condition")
    blockers = live_cycle_blockers()
    assert len(blockers) == 1 and "(bounce_rate by stop condition): bounce spike" in blockers[0]
    assert hold_banner_lines()[0].startswith("ON HOLD")
    clear_hold(hold, cleared_by="pto", reason="list cleaned")
    assert live_cycle_blockers() == []
    assert hold_banner_lines() == []


def test_a_hold_marks_today_as_not_clean(green):
    day = RampDay.objects.create(date=IN_WINDOW.date(), is_live=True, sent_count=1, dispatched_count=1)
    hold = raise_hold(reason="x", raised_by="pto")
    day.refresh_from_db()
    assert f"a hold was active during its sending window (#{hold.pk})" in day_problems(day)
    assert not is_clean(day)


@pytest.mark.django_db
def test_outside_the_window_it_names_the_window():
    passed_preflight(OUT_OF_WINDOW)
    blockers = live_cycle_blockers(now=OUT_OF_WINDOW)
    assert blockers == ["Outside the sending window (15:00–18:00 America/New_York): live cycles run only inside it."]


@pytest.mark.django_db
def test_a_window_may_cross_midnight():
    policy = RampPolicy.get()
    policy.window_start, policy.window_end = dt.time(22, 0), dt.time(2, 0)
    policy.save()
    late = OUT_OF_WINDOW.replace(hour=23)
    passed_preflight(late)
    assert live_cycle_blockers(now=late) == []
    assert "Outside the sending window" in live_cycle_blockers(now=OUT_OF_WINDOW.replace(hour=12))[-1]


def test_the_previous_live_day_needs_a_decision(green):
    live_day(IN_WINDOW.date() - dt.timedelta(days=2), decision="")
    blockers = live_cycle_blockers()
    assert len(blockers) == 1 and "has no decision" in blockers[0] and "2026-02-17" in blockers[0]


def test_a_failed_or_old_preflight_blocks(green):
    PreflightRun.objects.create(ran_at=IN_WINDOW, passed=False, results=[])
    assert "failed" in live_cycle_blockers()[0]
    PreflightRun.objects.all().delete()
    passed_preflight(IN_WINDOW - dt.timedelta(hours=2))
    assert "older than PREFLIGHT_MAX_AGE_MINUTES" in live_cycle_blockers()[0]


def test_a_used_cap_blocks(green):
    RampDay.objects.create(date=IN_WINDOW.date(), is_live=True, cap=5, dispatched_count=5)
    assert live_cycle_blockers() == ["Today's cap of 5 is used (5 dispatched)."]


def test_the_claim_plan_honours_cap_per_company_cap_and_tier_shares():
    candidates = [
        Candidate(1, "tier_1", "acme.example"),
        Candidate(2, "tier_1", "ACME.example"),
        Candidate(3, "tier_3", "beta.example"),
        Candidate(4, "tier_2", "gamma.example"),
        Candidate(5, "tier_2", "delta.example"),
        Candidate(6, "tier_1", "epsilon.example"),
        Candidate(7, "tier_1", "zeta.example"),
    ]
    plan = plan_claims(
        candidates, remaining=3, per_company_cap=1, tier_caps={"tier_1": 10, "tier_2": 1}, sent_by_domain={"zeta.example": 1}
    )
    assert [c.key for c in plan.selected] == [1, 4, 6]
    reasons = {c.key: why for c, why in plan.skipped}
    assert "per-company cap" in reasons[2]
    assert "tier_3 is not sendable" in reasons[3]
    assert "tier_2 share (1/day) is used" in reasons[5]
    assert reasons[7] == "today's cap is reached"


def test_only_the_latest_smoke_of_this_instance_counts(green):
    record_gate_run(GateRun.Kind.SMOKE, passed=False, target="http://127.0.0.1:8000", summary="4 of 9 checks passed")
    [blocker] = live_cycle_blockers()
    assert blocker.startswith("The last smoke of this instance (http://127.0.0.1:8000, ") and "4 of 9 checks passed" in blocker
    # A later failure of another instance changes nothing; a later pass of this one clears it.
    record_gate_run(GateRun.Kind.SMOKE, passed=True, target="https://staging.example", summary="9 of 9", this_instance=False)
    assert len(live_cycle_blockers()) == 1
    record_gate_run(GateRun.Kind.SMOKE, passed=True, target="http://127.0.0.1:8000", summary="9 of 9 checks passed")
    assert live_cycle_blockers() == []
