from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ghl.errors import GhlLimiterUnavailable, GhlRateLimited
from ghl.ratelimit import (
    NullLimiter,
    RedisRateLimiter,
    parse_retry_after,
    retry_after_seconds,
    seconds_until_utc_midnight,
)

pytestmark = pytest.mark.redis


def make_limiter(redis_conn, **kwargs) -> RedisRateLimiter:
    kwargs.setdefault("location_id", "locTest")
    kwargs.setdefault("limit", 3)
    kwargs.setdefault("window_seconds", 0.5)
    return RedisRateLimiter(connection=redis_conn, **kwargs)


def test_it_grants_up_to_the_limit_then_asks_to_wait(redis_conn):
    limiter = make_limiter(redis_conn)
    assert [limiter.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.try_acquire()
    # The fourth request must wait for the oldest slot to leave the 0.5 s window.
    assert 0 < wait <= 0.5


def test_it_frees_slots_as_the_window_slides(redis_conn):
    limiter = make_limiter(redis_conn)
    for _ in range(3):
        limiter.acquire()
    started = time.monotonic()
    limiter.acquire()
    waited = time.monotonic() - started
    assert 0.3 < waited < 1.0


def test_it_keeps_locations_apart(redis_conn):
    first = make_limiter(redis_conn, location_id="locA", limit=1)
    second = make_limiter(redis_conn, location_id="locB", limit=1)
    assert first.try_acquire() == 0.0
    assert second.try_acquire() == 0.0
    assert first.try_acquire() > 0


def test_it_raises_rate_limited_instead_of_waiting_past_max_wait(redis_conn):
    limiter = make_limiter(redis_conn, limit=1, window_seconds=5, max_wait=0.2)
    limiter.acquire()
    with pytest.raises(GhlRateLimited) as caught:
        limiter.acquire()
    assert caught.value.retry_safe
    assert 4 < caught.value.retry_after <= 5


def test_a_429_pauses_every_limiter_of_the_location(redis_conn):
    worker_a = make_limiter(redis_conn, limit=100)
    worker_b = make_limiter(redis_conn, limit=100)
    worker_a.record_response(429, {"Retry-After": "2"})
    wait = worker_b.try_acquire()
    assert 1.5 < wait <= 2.0
    assert 1.0 < worker_b.paused_for() <= 2.0


def test_a_429_without_retry_after_pauses_for_the_interval_header(redis_conn):
    limiter = make_limiter(redis_conn, limit=100)
    limiter.record_response(429, {"X-RateLimit-Interval-Milliseconds": "3000"})
    assert 2.5 < limiter.try_acquire() <= 3.0


def test_a_shorter_pause_never_shortens_a_longer_one(redis_conn):
    limiter = make_limiter(redis_conn, limit=100)
    limiter.pause(5)
    limiter.pause(1)
    assert limiter.try_acquire() > 4


def test_remaining_zero_pauses_for_the_interval(redis_conn):
    limiter = make_limiter(redis_conn, limit=100)
    limiter.record_response(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Interval-Milliseconds": "1000"})
    assert 0.5 < limiter.try_acquire() <= 1.0


def test_headers_with_quota_left_do_not_pause(redis_conn):
    limiter = make_limiter(redis_conn, limit=100)
    limiter.record_response(200, {"X-RateLimit-Remaining": "57", "X-RateLimit-Daily-Remaining": "199000"})
    assert limiter.try_acquire() == 0.0


def test_daily_quota_exhausted_raises_with_a_long_retry_after(redis_conn):
    limiter = make_limiter(redis_conn, limit=100)
    limiter.record_response(200, {"x-ratelimit-daily-remaining": "0", "x-ratelimit-remaining": "10"})
    with pytest.raises(GhlRateLimited) as caught:
        limiter.acquire()
    assert caught.value.daily
    assert caught.value.retry_after >= 59


def test_reset_forgets_window_and_pauses(redis_conn):
    limiter = make_limiter(redis_conn, limit=1)
    limiter.acquire()
    limiter.pause(5)
    limiter.reset()
    assert limiter.try_acquire() == 0.0


def test_it_reports_redis_down_as_a_safe_to_retry_error():
    # No client-side retries: the limiter must answer at once, not after redis-py's backoff.
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    limiter = RedisRateLimiter(location_id="locX", limit=1, window_seconds=1, connection=dead)
    with pytest.raises(GhlLimiterUnavailable) as caught:
        limiter.acquire()
    assert caught.value.retry_safe


def test_null_limiter_never_waits():
    limiter = NullLimiter()
    for _ in range(1000):
        limiter.acquire()
    limiter.record_response(429, {"Retry-After": "100"})
    limiter.acquire()


def test_retry_after_parsing():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds({}, 10.0) == 10.0
    assert retry_after_seconds({"X-RateLimit-Interval-Milliseconds": "2500"}, 10.0) == 2.5
    assert retry_after_seconds({"Retry-After": "4", "X-RateLimit-Interval-Milliseconds": "2500"}, 10.0) == 4.0
    assert seconds_until_utc_midnight(datetime(2026, 1, 1, 23, 0, tzinfo=timezone.utc)) == 3600.0
    assert seconds_until_utc_midnight(datetime(2026, 1, 1, 23, 59, 59, tzinfo=timezone.utc)) == 60.0


WORKER = textwrap.dedent(
    """
    import json, sys, redis
    from ghl.ratelimit import RedisRateLimiter
    url, count = sys.argv[1], int(sys.argv[2])
    connection = redis.Redis.from_url(url)
    limiter = RedisRateLimiter(location_id="locShared", limit=4, window_seconds=0.5, connection=connection, max_wait=10)
    granted = []
    for _ in range(count):
        limiter.acquire()
        # The limiter's own grant time: a clock read after acquire() could land late under load.
        granted.append(limiter.last_granted_ms / 1000)
    print(json.dumps(granted))
    """
)


@pytest.mark.slow
def test_two_processes_share_one_limit(redis_conn, settings):
    # Two real processes hammer one location: together they must never exceed
    # 4 grants in any 0.5 s window (measured on the Redis clock).
    root = Path(__file__).resolve().parents[2]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, settings.REDIS_URL, "6"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    grants: list[float] = []
    for process in processes:
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        grants.extend(json.loads(out))
    grants.sort()
    assert len(grants) == 12
    for index in range(len(grants) - 4):
        # Grant i and grant i+4 can never fall inside one window.
        assert grants[index + 4] - grants[index] >= 0.5 - 0.002, grants
    # And the limiter did not serialize needlessly: 12 grants at 4/0.5 s need about 1 s.
    assert grants[-1] - grants[0] < 2.5
