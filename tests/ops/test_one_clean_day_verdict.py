"""One clean-day verdict, shown the same everywhere.

A week and a day run through the product (pipeline, review, live cycle, the
job, the daily report, the decision) with a hold raised and cleared, queue
drift, a failed smoke and late evidence. Then, day by day, the admin index,
`ramp status`, the daily report, the ramp day's page and graduation must say
the same thing about each day, and the table says what that is.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from dataclasses import dataclass
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase
from django.utils import timezone
from django.utils.html import escape

from caio.models import GateRun
from caio.releases import record_gate_run
from outreach import review
from outreach.inbound.suppression import suppress_lead
from outreach.models import PendingEmail
from outreach.sending.gates import DispatchRefused
from outreach.sending.job import send_card
from outreach.sending.select import start_live_cycle
from outreach.templatetags.kpi_panel import kpi_overview
from ramp import services
from ramp.holds import raise_hold
from ramp.models import Hold, RampDay, RampPolicy
from tests.dispatch.helpers import fake_client, patch_client
from tests.factories import make_campaign, make_lead
from tests.ramp.helpers import head_of_sales_signs_off_and_confirms, passed_preflight, replay_and_smoke_passed

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

NY = zoneinfo.ZoneInfo("America/New_York")
MONDAY = dt.date(2026, 3, 2)


@dataclass(frozen=True)
class Row:
    date: dt.date
    story: str
    verdict: str  # the start of every display's line for the day, after the date


# fmt: off
TABLE = [
    Row(MONDAY,                          "clean",                      "counts toward graduation"),
    Row(MONDAY + dt.timedelta(days=1),  "hold raised and cleared",    "does not count toward graduation (a hold was active)"),
    Row(MONDAY + dt.timedelta(days=2),  "clean",                      "counts toward graduation"),
    Row(MONDAY + dt.timedelta(days=3),  "drift",                      "does not count toward graduation (a hold was active; decided hold"),
    Row(MONDAY + dt.timedelta(days=4),  "failed smoke",               "no live run"),
    # Its two unsubscribes land two days later: counted on the day they land, they hold sends then.
    Row(MONDAY + dt.timedelta(days=7),  "clean, late evidence",       "counts toward graduation"),
    Row(MONDAY + dt.timedelta(days=8),  "clean",                      "counts toward graduation"),
]
# fmt: on
AFTER = TABLE[-1].date + dt.timedelta(days=1)


def at(date: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(hour, minute), tzinfo=NY)


def send_one(*, hos, operator, clock, count: int = 1) -> list[PendingEmail]:
    """Draft, approve and send `count` cards through the live cycle and the job."""
    call_command("run_pipeline", "--source", "wpromote", "--limit", str(count), "--apply", stdout=StringIO())
    cards = list(PendingEmail.objects.filter(status="pending").order_by("-pk")[:count])
    for card in cards:
        review.approve(card, user=hos, seen_content_hash=card.content_hash())
    clock.shift(dt.timedelta(seconds=30))
    passed_preflight(timezone.now())
    with TestCase.captureOnCommitCallbacks(execute=True):
        start_live_cycle(operator=operator)
    for card in cards:
        with patch_client(fake_client()):
            send_card(card.pk)
    return cards


def close_the_day(date: dt.date) -> None:
    """The daily report, then the operator's decision as recommended."""
    report = json.loads(daily_report(date, "--json"))
    recommended = report["recommended_decision"]["decision"]
    services.decide(decision=recommended, by="operator", reason="" if recommended == "continue" else "as recommended", date=date)


def daily_report(date: dt.date, *args: str) -> str:
    out = StringIO()
    call_command("daily_report", "--date", str(date), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def week(hos, operator, redis_conn):
    """Run the table's days in order; return the clock at the end."""
    policy = RampPolicy.get()
    policy.window_start, policy.window_end = dt.time(9, 0), dt.time(18, 0)
    policy.save()
    make_campaign(ref="seq")
    for n in range(12):
        make_lead(source="wpromote", email=f"lead{n}@company{n}.example")
    with time_machine.travel(at(MONDAY, 10), tick=False) as clock:
        replay_and_smoke_passed()
        for row in TABLE:
            clock.move_to(at(row.date, 10))
            # The runbook's morning trace: the product's own changes since yesterday are no drift.
            call_command("trace_queue", stdout=StringIO())
            if row.story == "hold raised and cleared":
                hold = services.raise_person_hold(reason="HoS flagged a formatting slip", by="hos")
                services.clear(hold_id=hold.pk, by="operator", reason="template fixed")
            if row.story == "failed smoke":
                services.clear(hold_id=None, by="operator", reason="drift explained: a test update by hand")
                record_gate_run(GateRun.Kind.SMOKE, passed=False, target="http://127.0.0.1:8000", summary="8 of 9 checks passed")
                passed_preflight(timezone.now())
                with pytest.raises(DispatchRefused, match="The last smoke of this instance"):
                    start_live_cycle(operator=operator)
                continue
            if row.story == "clean, late evidence":
                record_gate_run(GateRun.Kind.SMOKE, passed=True, target="http://127.0.0.1:8000", summary="9 of 9 checks passed")
            cards = send_one(hos=hos, operator=operator, clock=clock, count=2 if "late evidence" in row.story else 1)
            if row.story == "drift":
                # A card drafted, then rejected behind the product's back; then the trace.
                call_command("run_pipeline", "--source", "wpromote", "--limit", "1", "--apply", stdout=StringIO())
                assert PendingEmail.objects.filter(status="pending").update(status="rejected") == 1
                with pytest.raises(CommandError, match="Queue drift flagged"):
                    call_command("trace_queue", stdout=StringIO())
            clock.move_to(at(row.date, 17))
            close_the_day(row.date)
            if "late evidence" in row.story:
                late = cards
        # The next morning, a day without a live run, both of Monday's contacts unsubscribe (evidence belongs
        # to the day its email was sent): the stop conditions hold, and Monday's report is run again.
        clock.move_to(at(AFTER, 9))
        for card in late:
            suppress_lead(card.lead, reason="unsubscribed", source="unsubscribe link")
        daily_report(TABLE[-2].date)
        head_of_sales_signs_off_and_confirms(AFTER)
        clock.move_to(at(AFTER, 10))
        yield clock


def test_every_display_gives_each_day_the_same_verdict(week, admin_client):
    policy = RampPolicy.get()
    status = json.loads(_ramp_status_json())
    index = kpi_overview()
    review_now = services.graduation_review()
    streak_dates = [day.date for day in review_now.streak]
    for row in TABLE:
        day = RampDay.objects.filter(date=row.date, is_live=True).first()
        if row.verdict == "no live run":
            assert day is None, row
            assert daily_report(row.date).splitlines()[-1].startswith(f"For graduation: {row.date}: no live run"), row
            assert row.date not in streak_dates
            continue
        line = services.day_verdict(day, policy).as_line()
        assert line.startswith(f"{row.date}: {row.verdict}"), (row, line)
        # ramp status, the daily report, the ramp day's page, the index: the same line.
        assert line in status["graduation"]["days"], (row, status["graduation"]["days"])
        assert daily_report(row.date).splitlines()[-1] == f"For graduation: {line}", row
        assert escape(line) in admin_client.get(f"/admin/ramp/rampday/{day.pk}/change/").content.decode(), row
        if row.date >= TABLE[-5].date:
            assert line in index["streak_lines"], (row, index["streak_lines"])
        # Graduation counts exactly the days that count, from the newest back to the first that does not.
        if row.date in streak_dates:
            assert "counts toward graduation" in line

    # The two newest days count; the drift day before them ended in a hold decision, so graduation
    # names that day, why, and what clears it, and the late evidence's hold; the index says the same.
    assert streak_dates == [TABLE[-1].date, TABLE[-2].date]
    assert index["streak_days"] == len(streak_dates) and index["graduation_reasons"] == review_now.reasons
    assert any(
        reason.startswith(f"{TABLE[3].date}: does not count toward graduation (a hold was active; decided hold, not continue)")
        and reason.endswith("1 more clean live day(s) after it clear it")
        for reason in review_now.reasons
    ), review_now.reasons
    assert "a hold is active" in review_now.reasons
    assert Hold.objects.active().get().source == "unsubscribe_rate"


def _ramp_status_json() -> str:
    out = StringIO()
    call_command("ramp", "status", "--json", stdout=out)
    return out.getvalue()
