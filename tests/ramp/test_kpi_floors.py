"""The daily report's recommendation and graduation agree on every KPI floor.

Each floor is driven through the real daily report (outreach counts the day,
ramp judges it) on the last day of a three-day streak, once exactly at the
limit (both must let the day pass) and once a hair past it (both must name the
same breach, with the same numbers).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from outreach.reports.daily import daily_report
from outreach.models import CardStatus, EmailEvent
from ramp import services
from ramp.kpis import FLOORS, STOP_COUNT_FIELDS, KpiCounts
from ramp.models import Hold, RampDay, RampPolicy
from tests.factories import make_card, make_lead
from tests.ramp.helpers import IN_WINDOW, head_of_sales_signs_off_and_confirms, live_day, replay_and_smoke_passed

pytestmark = pytest.mark.django_db

SENT = 4
# One event of each kind out of four sends is a rate of exactly 25%.
AT_LIMIT = Decimal("0.2500")
PAST_LIMIT = {"max": Decimal("0.2499"), "min": Decimal("0.2501")}
PAST_LIMIT_SHOWN = {"max": "24.99%", "min": "25.01%"}
# The streak's earlier days: two sends, both answered, nothing else.
GOOD_DAY = {"sent": 2, "replies": 2, "bounces": 0, "unsubscribes": 0, "complaints": 0}


def test_every_policy_floor_is_covered_here():
    assert {floor.key for floor in FLOORS} == {"bounce_rate", "unsubscribe_rate", "complaint_rate", "reply_rate"}


def _send_the_day(floor_key: str, moment: dt.datetime, *, replied: bool = True) -> None:
    """Four sends today; one of them bounced, unsubscribed, complained or replied, as the floor asks."""
    lead_fields = {
        "bounce_rate": {"bounced_at": moment},
        "unsubscribe_rate": {"unsubscribed_at": moment},
        "reply_rate": {"replied_at": moment} if replied else {},
        "complaint_rate": {},
    }[floor_key]
    cards = [make_card(status=CardStatus.SENT, sent_at=moment, lead=make_lead(**(lead_fields if i == 0 else {}))) for i in range(SENT)]
    if floor_key == "complaint_rate":
        EmailEvent.objects.create(lead=cards[0].lead, card=cards[0], kind=EmailEvent.Kind.COMPLAINED, occurred_at=moment)


def _policy(floor_key: str, *, limit: Decimal, hold_count: int) -> None:
    policy = RampPolicy.get()
    # Every other floor is out of the way, so only the floor under test can speak.
    policy.max_bounce_rate = policy.max_unsubscribe_rate = policy.max_complaint_rate = Decimal("1")
    policy.bounce_hold_count = policy.unsubscribe_hold_count = policy.complaint_hold_count = 0
    policy.min_reply_rate = Decimal("0")
    floor = next(f for f in FLOORS if f.key == floor_key)
    setattr(policy, floor.policy_field, limit)
    if floor.is_ceiling:
        setattr(policy, STOP_COUNT_FIELDS[floor.count], hold_count)
    policy.save()


def _run_the_day(floor_key: str, **sends) -> tuple[dict, services.GraduationReview]:
    today = IN_WINDOW.date()
    for days_ago in (2, 1):
        live_day(today - dt.timedelta(days=days_ago), kpis=GOOD_DAY)
    head_of_sales_signs_off_and_confirms(today)
    replay_and_smoke_passed()
    with time_machine.travel(IN_WINDOW, tick=False):
        RampDay.objects.create(date=today, is_live=True, cap=5, dispatched_count=SENT, sent_count=SENT)
        _send_the_day(floor_key, IN_WINDOW, **sends)
        report = daily_report(today)
        services.decide(decision="continue", by="pto", date=today)
        return report, services.graduation_review(today=today)


@pytest.mark.parametrize("floor_key", [floor.key for floor in FLOORS if floor.is_ceiling])
def test_one_event_in_four_sends_is_a_warning_not_a_stop(floor_key):
    """25% observed against a 24.99% ceiling proves nothing at four sends: shown, not held, graduation not blocked."""
    floor = next(f for f in FLOORS if f.key == floor_key)
    _policy(floor_key, limit=PAST_LIMIT["max"], hold_count=0)
    report, review = _run_the_day(floor_key)
    assert report["recommended_decision"]["decision"] == "continue", report["recommended_decision"]
    assert report["warnings"] == [
        f"warning: {floor.label}s 1 of 4 sent (25.0%) against a ceiling of 24.99%: one-sided exact binomial "
        "p=0.683, not shown over at 95% confidence; no count rule, over the last 7 days."
    ]
    assert review.allowed, review.reasons


@pytest.mark.parametrize("floor_key", [floor.key for floor in FLOORS if floor.is_ceiling])
def test_a_count_rule_holds_and_graduation_names_the_same_line(floor_key):
    floor = next(f for f in FLOORS if f.key == floor_key)
    _policy(floor_key, limit=PAST_LIMIT["max"], hold_count=1)
    report, review = _run_the_day(floor_key)
    line = (
        f"{floor.label}s 1 of 4 sent (25.0%) against a ceiling of 24.99%: one-sided exact binomial p=0.683, "
        "count 1 reaches the policy's hold at 1"
    )
    recommended = report["recommended_decision"]
    # At level 0 there is no lower cap: the recommendation is hold, and it says why.
    assert recommended["decision"] == "hold", recommended
    assert recommended["reasons"][0] == f"{line}, over the last 7 days."
    assert "nothing to roll back to" in recommended["reasons"][1]
    assert not review.allowed
    assert any(line in reason and str(IN_WINDOW.date()) in reason for reason in review.reasons), review.reasons


@pytest.mark.parametrize(("floor", "holds"), [("0.5000", False), ("0.6000", True)], ids=["not-shown-under", "shown-under"])
def test_the_reply_floor_is_judged_over_the_window_like_the_ceilings(floor, holds):
    """0 replies in 4 sends: against a 50% floor p=0.0625, nothing shown (a warning); against 60%, p=0.026,
    shown under at 95%: the stop conditions hold, the report recommends hold and graduation names the same line."""
    _policy("reply_rate", limit=Decimal(floor), hold_count=0)
    report, review = _run_the_day("reply_rate", replied=False)
    recommended = report["recommended_decision"]
    p_value = "0.062" if not holds else "0.026"
    shown = "under at 95% confidence" if holds else "not shown under at 95% confidence; no count rule"
    line = f"replies 0 of 4 sent (0.0%) against a floor of {floor[2:4]}%: one-sided exact binomial p={p_value}, {shown}"
    reply_holds = list(Hold.objects.filter(source="reply_rate"))
    if not holds:
        assert recommended["decision"] == "continue", recommended
        assert report["warnings"] == [f"warning: {line}, over the last 7 days."]
        assert not reply_holds
        assert review.allowed, review.reasons
        return
    assert recommended["decision"] == "hold" and recommended["reasons"][0] == f"{line}, over the last 7 days.", recommended
    assert len(reply_holds) == 1 and line in reply_holds[0].reason
    assert any(line in reason for reason in review.reasons), review.reasons


def test_stored_counts_read_back_as_they_were_written():
    counts = KpiCounts(sent=5, replies=1, bounces=0, unsubscribes=0, complaints=0, opens=None, meetings=2)
    assert KpiCounts.from_stored(counts.as_stored()) == counts
    assert KpiCounts.from_stored({"sent": 3}) == KpiCounts(sent=3)
    assert KpiCounts.from_stored({}) is None
