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

from outreach.daily import daily_report
from outreach.models import CardStatus, EmailEvent
from ramp import services
from ramp.kpis import FLOORS, KpiCounts
from ramp.models import RampDay, RampPolicy
from tests.factories import make_card, make_lead
from tests.ramp.helpers import IN_WINDOW, live_day

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


def _send_the_day(floor_key: str, moment: dt.datetime) -> None:
    """Four sends today; one of them bounced, unsubscribed, complained or replied, as the floor asks."""
    lead_fields = {
        "bounce_rate": {"bounced_at": moment},
        "unsubscribe_rate": {"unsubscribed_at": moment},
        "reply_rate": {"replied_at": moment},
        "complaint_rate": {},
    }[floor_key]
    cards = [make_card(status=CardStatus.SENT, sent_at=moment, lead=make_lead(**(lead_fields if i == 0 else {}))) for i in range(SENT)]
    if floor_key == "complaint_rate":
        EmailEvent.objects.create(lead=cards[0].lead, card=cards[0], kind=EmailEvent.Kind.COMPLAINED, occurred_at=moment)


def _policy(floor_key: str, limit: Decimal) -> None:
    policy = RampPolicy.get()
    # Every other floor is out of the way, so only the floor under test can speak.
    policy.max_bounce_rate = policy.max_unsubscribe_rate = policy.max_complaint_rate = Decimal("1")
    policy.min_reply_rate = Decimal("0")
    floor = next(f for f in FLOORS if f.key == floor_key)
    setattr(policy, floor.policy_field, limit)
    policy.save()


@pytest.mark.parametrize("floor_key", [floor.key for floor in FLOORS])
@pytest.mark.parametrize("breached", [False, True], ids=["at-the-limit", "past-the-limit"])
def test_the_recommendation_and_graduation_agree_on_the_floor(floor_key, breached):
    floor = next(f for f in FLOORS if f.key == floor_key)
    today = IN_WINDOW.date()
    _policy(floor_key, PAST_LIMIT[floor.kind] if breached else AT_LIMIT)
    for days_ago in (2, 1):
        live_day(today - dt.timedelta(days=days_ago), kpis=GOOD_DAY)
    with time_machine.travel(IN_WINDOW, tick=False):
        RampDay.objects.create(date=today, is_live=True, cap=5, dispatched_count=SENT, sent_count=SENT)
        _send_the_day(floor_key, IN_WINDOW)
        report = daily_report(today)
        services.decide(decision="continue", by="pto", date=today)
        review = services.graduation_review(today=today)

    recommended = report["recommended_decision"]
    floor_lines = [reason for reason in recommended["reasons"] if reason.startswith(f"{floor.label} rate ")]
    if not breached:
        assert recommended["decision"] == "continue", recommended
        assert review.allowed, review.reasons
        return
    expected = "rollback" if floor.stops_sending else "hold"
    assert recommended["decision"] == expected, recommended
    side = "over" if floor.kind == "max" else "under the floor"
    assert floor_lines == [f"{floor.label} rate 25.0% (1 of 4 sent) {side} {PAST_LIMIT_SHOWN[floor.kind]}"]
    assert not review.allowed
    # Graduation names the very breach the report gave as its reason.
    assert any(floor_lines[0] in reason and str(today) in reason for reason in review.reasons), review.reasons


def test_stored_counts_read_back_as_they_were_written():
    counts = KpiCounts(sent=5, replies=1, bounces=0, unsubscribes=0, complaints=0, opens=None, meetings=2)
    assert KpiCounts.from_stored(counts.as_stored()) == counts
    assert KpiCounts.from_stored({"sent": 3}) == KpiCounts(sent=3)
    assert KpiCounts.from_stored({}) is None
