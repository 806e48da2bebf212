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
from ramp.models import RampDay, RampPolicy
from tests.dispatch.helpers import fake_client, patch_client
from tests.factories import a_rejection_tag, make_campaign, make_lead
from tests.ramp.helpers import passed_preflight, replay_and_smoke_passed

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
    Row(MONDAY + dt.timedelta(days=1),  "hold raised and cleared",    "does not count toward graduation (a hold was active during its sending window"),
    Row(MONDAY + dt.timedelta(days=2),  "clean",                      "counts toward graduation"),
    Row(MONDAY + dt.timedelta(days=3),  "drift",                      "does not count toward graduation (a hold was active during its sending window"),
    Row(MONDAY + dt.timedelta(days=4),  "failed smoke",               "no live run"),
    # Its two unsubscribes land two days later: counted on the day they land, they hold sends then.
    Row(MONDAY + dt.timedelta(days=7),  "clean, late evidence",       "counts toward graduation"),
    Row(MONDAY + dt.timedelta(days=8),  "clean",                      "counts toward graduation"),
]
# fmt: on
AFTER = TABLE[-1].date + dt.timedelta(days=1)
LATE = TABLE[-2].date


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


def close_the_day(date: dt.date, client) -> dict[str, str]:
    """The daily report, then the operator's decision as recommended; return what each display says of the day then."""
    report = daily_report(date)
    recommended = json.loads(daily_report(date, "--json"))["recommended_decision"]["decision"]
    before = services.day_verdict(RampDay.objects.get(date=date)).as_line()
    services.decide(decision=recommended, by="operator", reason="" if recommended == "continue" else "as recommended", date=date)
    return {"report": report.splitlines()[-1], "before decision": before, **displays(date, client)}


def displays(date: dt.date, client) -> dict[str, str]:
    """What `ramp status`, the index, the ramp day's page and the verdict itself say of `date` now."""
    day = RampDay.objects.get(date=date)
    line = services.day_verdict(day).as_line()
    status = json.loads(_ramp_status_json())["graduation"]["days"]
    page = client.get(f"/admin/ramp/rampday/{day.pk}/change/").content.decode()
    return {
        "verdict": line,
        "ramp status": next((shown for shown in status if shown.startswith(f"{date}:")), ""),
        "index": next((shown for shown in kpi_overview()["streak_lines"] if shown.startswith(f"{date}:")), ""),
        "ramp day page": line if escape(line) in page else "",
    }


def daily_report(date: dt.date, *args: str) -> str:
    out = StringIO()
    call_command("daily_report", "--date", str(date), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def week(hos, operator, redis_conn, settings, admin_client):
    """Run the table's days in order; return what every display said of each day at its close."""
    # GHL is a stand-in client here, so no webhook ever comes back: the intake's silence
    # gate (tested with the sandbox's own events elsewhere) is not what these days are about.
    settings.WEBHOOK_SILENCE_MINUTES = 60 * 24 * 30
    policy = RampPolicy.get()
    policy.window_start, policy.window_end = dt.time(9, 0), dt.time(18, 0)
    policy.save()
    make_campaign(ref="seq")
    for n in range(12):
        make_lead(source="wpromote", email=f"lead{n}@company{n}.example")
    closed: dict[dt.date, dict[str, str]] = {}
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
                closed[row.date] = {"report": daily_report(row.date).splitlines()[-1]}
                continue
            if row.story == "clean, late evidence":
                record_gate_run(GateRun.Kind.SMOKE, passed=True, target="http://127.0.0.1:8000", summary="9 of 9 checks passed")
            cards = send_one(hos=hos, operator=operator, clock=clock, count=2 if "late evidence" in row.story else 1)
            if row.story == "drift":
                # A card drafted, then rejected behind the product's back; then the trace.
                call_command("run_pipeline", "--source", "wpromote", "--limit", "1", "--apply", stdout=StringIO())
                assert PendingEmail.objects.filter(status="pending").update(status="rejected", rejection_tag=a_rejection_tag()) == 1
                with pytest.raises(CommandError, match="Queue drift flagged"):
                    call_command("trace_queue", stdout=StringIO())
            clock.move_to(at(row.date, 17))
            closed[row.date] = close_the_day(row.date, admin_client)
            if "late evidence" in row.story:
                late = cards
        # The next morning, a day without a live run, both of Monday's contacts unsubscribe (evidence belongs
        # to the day its email was sent): the stop conditions hold, and Monday's report is run again.
        clock.move_to(at(AFTER, 9))
        for card in late:
            suppress_lead(card.lead, reason="unsubscribed", source="unsubscribe link")
        daily_report(TABLE[-2].date)
        clock.move_to(at(AFTER, 10))
        yield closed


def test_at_each_days_close_every_display_gives_it_the_same_verdict(week):
    for row in TABLE:
        shown = week[row.date]
        if row.verdict == "no live run":
            assert shown["report"] == f"For graduation: {row.date}: no live run, so it neither counts nor breaks the streak"
            continue
        # The report, run before the decision, says what the day still waits for; then every display agrees.
        assert shown["report"] == f"For graduation: {shown['before decision']}", row
        assert shown["verdict"].startswith(f"{row.date}: {row.verdict}"), (row, shown["verdict"])
        assert shown["ramp status"] == shown["index"] == shown["ramp day page"] == shown["verdict"], (row, shown)


def test_after_late_evidence_every_display_and_graduation_agree(week, admin_client):
    review_now = services.graduation_review()
    streak = [day.date for day in review_now.streak]
    now = {row.date: displays(row.date, admin_client) for row in TABLE if RampDay.objects.filter(date=row.date, is_live=True).exists()}
    for date, shown in now.items():
        assert shown["ramp status"] == shown["ramp day page"] == shown["verdict"], (date, shown)
        if shown["index"]:
            assert shown["index"] == shown["verdict"], (date, shown)
        # Graduation counts exactly the days whose line says they count, newest first, until one does not.
        assert (date in streak) == (shown["verdict"] == f"{date}: counts toward graduation" and date > LATE)
    # Monday's report, run again when its contacts unsubscribed, took the evidence in: that day no longer
    # counts, and neither does Tuesday, whose 7-day window holds Monday's emails (ramp.clean: one verdict
    # over the window). Graduation names the newest, why, and what clears it; the index gives the same reasons.
    assert now[LATE]["verdict"].startswith(f"{LATE}: does not count toward graduation (unsubscribes 2 of ")
    last = TABLE[-1].date
    assert now[last]["verdict"].startswith(f"{last}: does not count toward graduation (unsubscribes 2 of ")
    assert streak == []
    breaker = next(reason for reason in review_now.reasons if reason.startswith(f"{last}:"))
    assert breaker == f"{now[last]['verdict']}: it breaks the streak, and 3 more clean live day(s) after it clear it"
    assert kpi_overview()["graduation_reasons"] == review_now.reasons
    assert "a hold is active" in review_now.reasons


def _ramp_status_json() -> str:
    out = StringIO()
    call_command("ramp", "status", "--json", stdout=out)
    return out.getvalue()
