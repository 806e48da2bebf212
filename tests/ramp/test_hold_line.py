"""A hold is written one way, wherever it is shown."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from outreach.reports.daily import daily_report
from ramp import services
from ramp.context_processors import holds as holds_context
from ramp.holds import hold_banner_lines
from ramp.preflight import run_preflight
from ramp.stop_conditions import QueueFacts
from tests.factories import personal_token
from tests.ramp.helpers import quiet_intake
from tests.ramp.helpers import IN_WINDOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def hold():
    with time_machine.travel(IN_WINDOW, tick=False):
        yield services.raise_person_hold(reason="Bounce spike at Acme", by="pto")


def test_the_line_says_which_hold_since_when_from_whom_and_why(hold):
    assert hold.as_line() == f"hold #{hold.pk} since 2026-02-19 20:30 UTC (person by pto): Bounce spike at Acme"


def test_every_command_page_and_report_writes_the_same_line(hold, rf, admin_user):
    line = hold.as_line()
    request = rf.get("/admin/")
    request.user = admin_user
    assert hold_banner_lines()[1:] == [line]
    assert holds_context(request)["ramp_hold_lines"][1:] == [line]
    assert services.status()["holds"][0]["line"] == line
    out = StringIO()
    call_command("ramp", "status", stdout=out)
    assert f"  {line}" in out.getvalue().splitlines()
    out = StringIO()
    call_command("ramp", "status", "--json", stdout=out)
    assert [h["line"] for h in json.loads(out.getvalue())["holds"]] == [line]
    out = StringIO()
    call_command("daily_report", "--json", stdout=out)
    assert json.loads(out.getvalue())["holds"] == [line]
    assert daily_report(IN_WINDOW.date(), now=IN_WINDOW)["holds"] == [line]
    preflight_row = next(row for row in run_preflight(facts_provider=lambda now: QueueFacts(intake=quiet_intake())).results if row["id"] == "P09")
    assert preflight_row["detail"] == f"1 active hold(s): {line}"


def test_a_cleared_hold_says_who_cleared_it_and_why(hold):
    out = StringIO()
    call_command("ramp", "clear", "--all", "--token", personal_token("pto"), "--reason", "Acme list cleaned", stdout=out)
    hold.refresh_from_db()
    assert f"Cleared {hold.as_line()}" in out.getvalue()
    assert hold.as_line().endswith(f"[cleared {hold.cleared_at:%Y-%m-%d %H:%M} UTC by pto: Acme list cleaned]")
