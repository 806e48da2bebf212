"""A sending window crossing midnight belongs to the day it started."""

from __future__ import annotations

import datetime as dt

import pytest

from ramp.days import claim_date, in_window, window_bounds, window_day
from ramp.models import RampPolicy
from tests.ramp.helpers import NY

pytestmark = pytest.mark.django_db

TUESDAY = dt.date(2026, 3, 3)


def test_a_window_crossing_midnight_is_one_day_with_one_cap():
    policy = RampPolicy(window_start=dt.time(22, 0), window_end=dt.time(2, 0))
    before, after = dt.datetime(2026, 3, 3, 23, 58, tzinfo=NY), dt.datetime(2026, 3, 4, 0, 2, tzinfo=NY)

    assert window_day(policy, before) == window_day(policy, after) == TUESDAY
    assert claim_date(policy, after) == TUESDAY
    assert window_bounds(policy, TUESDAY) == (dt.datetime(2026, 3, 3, 22, 0, tzinfo=NY), dt.datetime(2026, 3, 4, 2, 0, tzinfo=NY))
    closed = dt.datetime(2026, 3, 4, 2, 0, tzinfo=NY)
    assert (window_day(policy, closed), in_window(policy, closed), claim_date(policy, closed)) == (None, False, dt.date(2026, 3, 4))


def test_a_day_window_is_its_own_date():
    policy = RampPolicy(window_start=dt.time(15, 0), window_end=dt.time(18, 0))
    assert window_day(policy, dt.datetime(2026, 3, 3, 17, 59, 59, tzinfo=NY)) == TUESDAY
    assert window_day(policy, dt.datetime(2026, 3, 3, 18, 0, tzinfo=NY)) is None
