"""The ramp day's counters, changed only here and only in the database.

Any number of workers and cycles move the same counters at once, so every
change is one UPDATE with F() expressions, never a read followed by a write.
Callers name the operating day; this module knows nothing of cards.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F

from ramp.models import RampDay

COUNTERS = ("sent_count", "error_count")


def add_claims(day: RampDay, count: int, *, owner: str) -> None:
    """Add `count` claimed cards to `day`, mark it live, and name its owner if it has none."""
    RampDay.objects.filter(pk=day.pk).update(dispatched_count=F("dispatched_count") + count, is_live=True)
    # Decided in the UPDATE, not from `day` as read: the first cycle of the day owns it.
    RampDay.objects.filter(pk=day.pk, owner="").update(owner=owner)


def release_claim(date: dt.date) -> None:
    """Give one claimed slot back to the operating day `date` (never below zero)."""
    RampDay.objects.filter(date=date, dispatched_count__gt=0).update(dispatched_count=F("dispatched_count") - 1)


def bump(date: dt.date, **counters: int) -> None:
    """Add to the named counters (sent_count, error_count) of the operating day `date`."""
    unknown = set(counters) - set(COUNTERS)
    if unknown:
        raise ValueError(f"Unknown ramp day counter(s) {', '.join(sorted(unknown))}; expected {', '.join(COUNTERS)}.")
    RampDay.objects.filter(date=date).update(**{name: F(name) + n for name, n in counters.items()})
