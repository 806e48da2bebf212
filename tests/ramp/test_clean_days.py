"""Clean days that mean clean: outcomes belong to the day the email was sent, and a hold marks every day
whose sending window it touched.

Each row is a week run through the product's paths with the clock moved: the
day's sends (claimed and sent inside the 09:00–18:00 window), holds raised and
cleared by people, a complaint delivered as GHL's webhook applies it, the daily
report at 17:45 and the operator deciding what it recommends. Then graduation
is asked for on the row's last day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import time_machine

from outreach.inbound.suppression import suppress_lead
from outreach.models import CardStatus, EmailEvent, Lead
from outreach.reports.daily import daily_report
from outreach.sending.cycles import record_refused
from ramp import counters, services
from ramp.clean import day_problems, is_clean
from ramp.days import ramp_day
from ramp.holds import clear_hold, raise_hold
from ramp.models import Hold, RampDay, RampPolicy
from tests.factories import make_card, make_lead
from tests.ramp.helpers import NY, head_of_sales_signs_off_and_confirms, replay_and_smoke_passed

pytestmark = pytest.mark.django_db

SENDS = 5


def at(date: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(hour, minute), tzinfo=NY)


def send_the_day(date: dt.date) -> list:
    """15:00 a cycle claims five approved cards for the day; each is sent a minute later."""
    with time_machine.travel(at(date, 14, 0), tick=False):
        leads = [make_lead() for _ in range(SENDS)]
    cards = [make_card(status=CardStatus.SENT, lead=lead, queued_at=at(date, 15, 0), sent_at=at(date, 15, 1), age_hours=1) for lead in leads]
    with time_machine.travel(at(date, 15, 0), tick=False):
        counters.add_claims(ramp_day(date), len(cards), owner="pto")
        counters.bump(date, sent_count=len(cards))
    return cards


def report_and_decide(date: dt.date) -> str:
    """17:45 the daily report; 17:50 the operator records what it recommends."""
    with time_machine.travel(at(date, 17, 45), tick=False):
        recommended = daily_report(date)["recommended_decision"]["decision"]
    with time_machine.travel(at(date, 17, 50), tick=False):
        services.decide(decision=recommended, by="pto", reason="" if recommended == "continue" else "as recommended", date=date)
    return recommended


def person_hold(raised: dt.datetime, cleared: dt.datetime | None) -> Hold:
    with time_machine.travel(raised, tick=False):
        hold = raise_hold(reason="checking the list before sending", raised_by="pto")
    if cleared is not None:
        with time_machine.travel(cleared, tick=False):
            clear_hold(hold, cleared_by="pto", reason="the list is fine")
    return hold


def complaint_lands(card, when: dt.datetime) -> None:
    """GHL's complaint webhook as it is applied: the email's event, then the lead suppressed (judged as it lands)."""
    with time_machine.travel(when, tick=False):
        EmailEvent.objects.create(lead_id=card.lead_id, card=card, kind=EmailEvent.Kind.COMPLAINED, occurred_at=when)
        suppress_lead(Lead.objects.get(pk=card.lead_id), reason="complained", source="ghl:LCEmailStats:complained")


def clear_every_hold(when: dt.datetime) -> None:
    with time_machine.travel(when, tick=False):
        services.clear(hold_id=None, by="pto", reason="looked into it")


def run_day(date: dt.date, kind: str) -> None:
    """One weekday of a row, as its `kind` says."""
    if kind == "no live run":
        return
    if kind == "hold until 14:00":
        person_hold(at(date, 8, 0), at(date, 14, 0))
    elif kind == "hold before the first claim":
        person_hold(at(date, 9, 10), at(date, 9, 20))
    elif kind == "stopped by a hold":
        person_hold(at(date, 8, 0), at(date, 20, 0))
        with time_machine.travel(at(date, 15, 0), tick=False):
            record_refused(operator="pto", now=at(date, 15, 0), reasons=["A hold is active."])
        return
    cards = send_the_day(date)
    report_and_decide(date)
    if kind == "complaint arrives the next day":
        complaint_lands(cards[0], at(date + dt.timedelta(days=1), 10, 0))


@dataclass(frozen=True)
class Week:
    name: str
    days: tuple[tuple[dt.date, str], ...]
    # Holds cleared in the morning of these days, before the window opens.
    cleared_on: tuple[dt.date, ...]
    allowed: bool
    breaker: dt.date | None  # the day graduation names as breaking the streak
    breaker_says: str


MON, TUE, WED, THU, FRI = (dt.date(2026, 3, 2) + dt.timedelta(days=n) for n in range(5))
NEXT_MON = dt.date(2026, 3, 9)

# fmt: off
WEEKS = [
    Week("the weekend complaint", ((WED, "clean"), (THU, "clean"), (FRI, "complaint arrives the next day"), (NEXT_MON, "clean")),
         (NEXT_MON,), False, FRI, "complaints 1 of 15 sent"),
    Week("the hold until 14:00", ((MON, "clean"), (TUE, "clean"), (WED, "hold until 14:00"), (THU, "clean"), (FRI, "clean")),
         (), False, WED, "a hold was active during its sending window"),
    Week("the day stopped by a hold", ((MON, "clean"), (TUE, "clean"), (WED, "stopped by a hold"), (THU, "clean"), (FRI, "clean")),
         (), False, WED, "no live run; a hold was active during its sending window"),
    Week("the hold before the first claim", ((MON, "clean"), (TUE, "clean"), (WED, "hold before the first claim"), (THU, "clean"), (FRI, "clean")),
         (), False, WED, "a hold was active during its sending window"),
    Week("a day with no live run", ((MON, "clean"), (TUE, "clean"), (WED, "no live run"), (THU, "clean")),
         (), True, None, ""),
]
# fmt: on


@pytest.mark.parametrize("week", WEEKS, ids=[week.name for week in WEEKS])
def test_a_day_is_clean_only_when_its_window_and_its_emails_were(week):
    RampPolicy.objects.update_or_create(pk=1, defaults={"window_start": dt.time(9, 0), "window_end": dt.time(18, 0)})
    for date, kind in week.days:
        if date in week.cleared_on and Hold.objects.active().exists():
            clear_every_hold(at(date, 8, 30))
        run_day(date, kind)
    last = week.days[-1][0]
    with time_machine.travel(at(last, 17, 55), tick=False):
        head_of_sales_signs_off_and_confirms(last)
        replay_and_smoke_passed()
        review = services.graduation_review(today=last)

    assert review.allowed == week.allowed, review.reasons
    breaking = [reason for reason in review.reasons if "breaks the streak" in reason]
    if week.breaker is None:
        assert not breaking
        assert [day.date for day in review.streak] == [date for date, kind in reversed(week.days) if kind != "no live run"]
        return
    (reason,) = breaking
    assert reason.startswith(f"{week.breaker}: does not count toward graduation ("), reason
    assert week.breaker_says in reason, reason
    # Every view reads the same verdict: `ramp status` and the stored day say the day is not clean.
    status = services.status(now=at(last, 17, 55))
    assert status["graduation"]["clean_days"] == [day.date.isoformat() for day in review.streak]
    stored = RampDay.objects.filter(date=week.breaker).first()
    if stored is not None:
        assert not is_clean(stored) and day_problems(stored)


def test_the_weekend_complaint_revises_fridays_stored_verdict():
    """Friday's report recommended continue; Saturday's complaint about Friday's email restates Friday."""
    RampPolicy.objects.update_or_create(pk=1, defaults={"window_start": dt.time(9, 0), "window_end": dt.time(18, 0)})
    cards = send_the_day(FRI)
    assert report_and_decide(FRI) == "continue"
    friday = RampDay.objects.get(date=FRI)
    assert is_clean(friday), day_problems(friday)

    complaint_lands(cards[0], at(dt.date(2026, 3, 7), 10, 0))

    friday.refresh_from_db()
    assert (friday.kpis["complaints"], friday.kpis["window"]["complaints"]) == (1, 1)
    assert any("complaints 1 of 5 sent" in problem for problem in day_problems(friday)), day_problems(friday)
    # Saturday's own report shows the complaint by arrival, not as Saturday's.
    with time_machine.travel(at(dt.date(2026, 3, 7), 17, 45), tick=False):
        saturday = daily_report(dt.date(2026, 3, 7))
    assert (saturday["kpis"]["complaints"], saturday["arrived"]["complaints"]) == (None, 1)
