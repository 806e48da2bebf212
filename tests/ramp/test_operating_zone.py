"""A change of OPERATING_TIMEZONE after days exist stops start-up unless a setting names the new zone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from ramp.days import ramp_day
from ramp.models import RampDay, RampPolicy

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 3, 2)


def test_a_changed_zone_without_confirmation_stops_start_up_with_one_sentence(settings):
    ramp_day(MONDAY)
    assert RampPolicy.get().operating_timezone == "America/New_York"
    settings.OPERATING_TIMEZONE, settings.OPERATING_TIMEZONE_CONFIRMED = "Europe/London", ""

    with pytest.raises(SystemCheckError) as stopped:
        call_command("check")

    (line,) = [line for line in str(stopped.value).splitlines() if "ramp.E001" in line]
    assert line.endswith(
        "OPERATING_TIMEZONE changed from America/New_York to Europe/London after operating days were counted in "
        "America/New_York: set OPERATING_TIMEZONE_CONFIRMED=Europe/London to confirm the move, or set "
        "OPERATING_TIMEZONE back to America/New_York."
    )
    # Nor does a day get counted in the new zone behind start-up's back.
    with pytest.raises(RuntimeError, match="OPERATING_TIMEZONE_CONFIRMED=Europe/London"):
        ramp_day(MONDAY + dt.timedelta(days=1))


def test_a_confirmed_change_starts_and_is_recorded_and_old_days_keep_their_dates(settings):
    ramp_day(MONDAY)
    settings.OPERATING_TIMEZONE = settings.OPERATING_TIMEZONE_CONFIRMED = "Europe/London"

    call_command("check")
    ramp_day(MONDAY + dt.timedelta(days=1))

    policy = RampPolicy.get()
    assert policy.operating_timezone == "Europe/London"
    assert [(c["from"], c["to"], c["confirmed_by"]) for c in policy.timezone_changes] == [
        ("America/New_York", "Europe/London", "OPERATING_TIMEZONE_CONFIRMED")
    ]
    assert list(RampDay.objects.order_by("date").values_list("date", flat=True)) == [MONDAY, MONDAY + dt.timedelta(days=1)]


def test_the_first_days_need_no_confirmation(settings):
    settings.OPERATING_TIMEZONE = "Europe/London"
    call_command("check")
    ramp_day(MONDAY)
    assert RampPolicy.get().operating_timezone == "Europe/London"
