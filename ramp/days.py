"""The operating day: dates in OPERATING_TIMEZONE, and today's RampDay row."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils import timezone

from ramp.models import RampDay, RampPolicy


def operating_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.OPERATING_TIMEZONE)


def operating_date(now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(operating_tz()).date()


def ramp_day(date: dt.date | None = None) -> RampDay:
    """Return the RampDay for `date` (default today), created with the policy's cap."""
    date = date or operating_date()
    day, _ = RampDay.objects.get_or_create(date=date, defaults={"cap": RampPolicy.get().current_cap()})
    return day
