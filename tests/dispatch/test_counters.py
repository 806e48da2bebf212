"""Ramp day counters change only through ramp.counters, in the database."""

from __future__ import annotations

import datetime as dt

import pytest

from ramp import counters
from ramp.days import ramp_day

pytestmark = pytest.mark.django_db


def test_claims_releases_and_bumps_move_the_stored_counters():
    day = ramp_day(dt.date(2026, 3, 2))

    counters.add_claims(day, 3, owner="operator")
    counters.add_claims(day, 1, owner="someone else")
    counters.release_claim(day.date)
    counters.bump(day.date, sent_count=2, error_count=1)

    day.refresh_from_db()
    # The first cycle owns the day; a release gives one slot back.
    assert (day.dispatched_count, day.sent_count, day.error_count, day.is_live, day.owner) == (3, 2, 1, True, "operator")


def test_a_release_never_goes_below_zero_and_an_unknown_counter_is_refused():
    day = ramp_day(dt.date(2026, 3, 3))
    counters.release_claim(day.date)
    day.refresh_from_db()
    assert day.dispatched_count == 0
    with pytest.raises(ValueError, match="Unknown ramp day counter"):
        counters.bump(day.date, dispatched_count=1)
