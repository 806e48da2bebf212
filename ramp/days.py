"""The operating day: dates in OPERATING_TIMEZONE, today's RampDay row and the sending window."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ramp import zone
from ramp.models import Hold, RampDay, RampPolicy


def operating_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.OPERATING_TIMEZONE)


def operating_date(now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(operating_tz()).date()


def day_bounds(date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Return the [start, end) instants of an operating day (DST-aware)."""
    tz = operating_tz()
    start = dt.datetime.combine(date, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def ramp_day(date: dt.date | None = None) -> RampDay:
    """Return the RampDay for `date` (default today), created with the policy's cap.

    A day created after a hold covered part of it starts flagged, so it cannot
    count as clean: a hold still active, or one raised and cleared earlier that
    day, before its first cycle made the day.
    """
    date = date or operating_date()
    day = RampDay.objects.filter(date=date).first()
    if day is not None:
        return day
    policy = RampPolicy.get()
    # The days are counted in this zone from now on (a change was confirmed at start-up, or this is the first day).
    zone.record(policy)
    day, _ = RampDay.objects.get_or_create(
        date=date,
        defaults={"cap": policy.current_cap(), "hold_was_active": _held_during(date)},
    )
    return day


def _held_during(date: dt.date) -> bool:
    """Whether a hold was active at some moment of the operating day `date` (until now, for today)."""
    start, end = day_bounds(date)
    return Hold.objects.filter(raised_at__lt=end).filter(Q(cleared_at__isnull=True) | Q(cleared_at__gte=start)).exists()


def in_window(policy: RampPolicy, now: dt.datetime | None = None) -> bool:
    """Return whether `now` is inside the policy's sending window (a window may cross midnight)."""
    return window_day(policy, now) is not None


def window_bounds(policy: RampPolicy, date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Return the [start, end) instants of `date`'s sending window; a window crossing midnight ends the next day."""
    tz = operating_tz()
    end_date = date if policy.window_start < policy.window_end else date + dt.timedelta(days=1)
    return dt.datetime.combine(date, policy.window_start, tzinfo=tz), dt.datetime.combine(end_date, policy.window_end, tzinfo=tz)


def window_day(policy: RampPolicy, now: dt.datetime | None = None) -> dt.date | None:
    """Return the operating day whose sending window `now` is in, or None outside every window.

    A window crossing midnight belongs to the day it started: 00:02 in a
    22:00–02:00 window is the previous day's, under that day's cap.
    """
    now = now or timezone.now()
    today = operating_date(now)
    for date in (today, today - dt.timedelta(days=1)):
        start, end = window_bounds(policy, date)
        if start <= now < end:
            return date
    return None


def claim_date(policy: RampPolicy, instant: dt.datetime | None = None) -> dt.date:
    """The operating day a claim at `instant` counts against: its window's day, else its own date."""
    return window_day(policy, instant) or operating_date(instant)


def claim_bounds(policy: RampPolicy, date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Return the [start, end) instants whose claims count against `date` (`claim_date` as a range a query can use).

    The day's own hours, less the early hours a previous window crossing
    midnight still holds, plus the early hours of the next day its own window
    holds: 02:00 to 02:00 with a 22:00–02:00 window, midnight to midnight otherwise.
    """
    day_start, day_end = day_bounds(date)
    start = max(day_start, window_bounds(policy, date - dt.timedelta(days=1))[1])
    end = max(day_end, window_bounds(policy, date)[1])
    return start, end


def window_label(policy: RampPolicy) -> str:
    return f"{policy.window_start:%H:%M}–{policy.window_end:%H:%M} {settings.OPERATING_TIMEZONE}"
