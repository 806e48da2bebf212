"""A GHL request-rate limiter shared by every worker process through Redis.

GHL limits each app to 100 requests per 10 seconds per location (and 200,000 a
day). Any number of RQ workers on any number of hosts send for the same
location, so the count must live in one place: a sliding-window log in a Redis
sorted set, read and written by one Lua script so that two workers can never
both take the last slot. Time comes from the Redis server (`TIME`), not from
each host's clock, so skewed hosts still share one window.

Besides our own window the limiter obeys what GHL tells us: a 429 (with its
Retry-After), `X-RateLimit-Remaining: 0` and `X-RateLimit-Daily-Remaining: 0`
pause every worker of that location until the interval (or day) has passed.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol

import redis
from django.conf import settings

from ghl.errors import GhlLimiterUnavailable, GhlRateLimited

logger = logging.getLogger(__name__)

# Returns {code, wait_ms, now_ms}: code 0 = slot granted (at now_ms on the Redis
# clock), 1 = wait then try again, 2 = daily quota exhausted (wait_ms = until
# the daily pause ends).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local daily_until = tonumber(redis.call('GET', KEYS[3]) or '0')
if daily_until > now then
  return {2, daily_until - now}
end
local paused_until = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused_until > now then
  return {1, paused_until - now}
end
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  local seq = redis.call('INCR', KEYS[4])
  redis.call('PEXPIRE', KEYS[4], 86400000)
  redis.call('ZADD', KEYS[1], now, now .. '-' .. seq)
  redis.call('PEXPIRE', KEYS[1], window + 1000)
  return {0, 0, now}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return {1, wait}
"""

# Extends a pause key to now + ARGV[1] ms, never shortening a longer pause
# another worker already set. Returns the pause end (server ms).
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wanted = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if wanted > current then
  redis.call('SET', KEYS[1], wanted, 'PX', tonumber(ARGV[1]) + 1000)
  return wanted
end
return current
"""


class Limiter(Protocol):
    def acquire(self) -> None:
        """Block until a request may be sent; raise GhlRateLimited when that would take too long."""

    def record_response(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from GHL's answer (429, X-RateLimit-* headers)."""


class NullLimiter:
    """A limiter that never waits: for unit tests and one-off scripts against the sandbox."""

    def acquire(self) -> None:
        return None

    def record_response(self, status: int, headers: Mapping[str, str]) -> None:
        return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Return the seconds a Retry-After header asks for (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # requests' CaseInsensitiveDict is case-insensitive; a plain dict may not be.
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                return candidate
    return value


def interval_seconds(headers: Mapping[str, str], default: float) -> float:
    """Return GHL's rate-limit interval from X-RateLimit-Interval-Milliseconds, else `default`."""
    raw = _header(headers, "X-RateLimit-Interval-Milliseconds")
    try:
        return float(raw) / 1000.0 if raw is not None else default
    except ValueError:
        return default


def retry_after_seconds(headers: Mapping[str, str], default: float) -> float:
    """Return how long a 429 asks us to wait: Retry-After, else the interval header, else `default`."""
    from_header = parse_retry_after(_header(headers, "Retry-After"))
    if from_header is not None:
        return from_header
    return interval_seconds(headers, default)


def seconds_until_utc_midnight(now: datetime | None = None) -> float:
    # GHL does not document when the daily quota resets; midnight UTC is the
    # conservative guess, and at least a minute so a burst at 23:59:59 pauses.
    now = now or datetime.now(timezone.utc)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(60.0, (tomorrow - now).total_seconds())


class RedisRateLimiter:
    """Sliding-window limiter for one GHL location, shared through Redis.

    `acquire()` takes a slot or sleeps until one frees up; if the total wait
    would exceed `max_wait` seconds it raises GhlRateLimited instead (the caller,
    usually an RQ job, retries later: nothing was sent).
    """

    def __init__(
        self,
        *,
        location_id: str | None = None,
        limit: int | None = None,
        window_seconds: float | None = None,
        connection: redis.Redis | None = None,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.location_id = location_id or settings.GHL_LOCATION_ID
        self.limit = int(limit if limit is not None else settings.GHL_RATE_LIMIT_REQUESTS)
        self.window_seconds = float(window_seconds if window_seconds is not None else settings.GHL_RATE_LIMIT_WINDOW_SECONDS)
        self.max_wait = max_wait
        self._sleep = sleep
        self._connection = connection
        # A hash tag keeps all keys of one location in one Redis Cluster slot (the script touches several).
        base = f"ghl:ratelimit:{{{self.location_id}}}"
        self.window_key = f"{base}:window"
        self.pause_key = f"{base}:pause"
        self.daily_key = f"{base}:daily"
        self.seq_key = f"{base}:seq"
        # Redis-clock time (ms) of this limiter's latest grant; None before the first.
        self.last_granted_ms: int | None = None

    @property
    def connection(self) -> redis.Redis:
        if self._connection is None:
            self._connection = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
        return self._connection

    def _eval(self, script: str, keys: list[str], args: list[int | float]):
        try:
            return self.connection.eval(script, len(keys), *keys, *args)
        except redis.RedisError as exc:
            raise GhlLimiterUnavailable(f"GHL rate limiter unavailable (Redis: {exc.__class__.__name__})") from None

    def try_acquire(self) -> float:
        """Take a slot if one is free and return 0.0; otherwise return the seconds to wait.

        Raises GhlRateLimited (daily=True) while the daily quota is exhausted.
        """
        code, wait_ms, *granted_ms = self._eval(
            _ACQUIRE,
            [self.window_key, self.pause_key, self.daily_key, self.seq_key],
            [self.limit, int(self.window_seconds * 1000)],
        )
        if int(code) == 0 and granted_ms:
            # The grant's own time on the shared clock: what the window is measured in.
            self.last_granted_ms = int(granted_ms[0])
        if int(code) == 2:
            raise GhlRateLimited(
                "GHL daily request quota exhausted for this location", retry_after=int(wait_ms) / 1000.0, daily=True
            )
        return 0.0 if int(code) == 0 else int(wait_ms) / 1000.0

    def acquire(self) -> None:
        waited = 0.0
        while True:
            wait = self.try_acquire()
            if wait == 0.0:
                if waited:
                    logger.debug("ghl rate limiter: slot after %.3fs wait", waited)
                return
            if waited + wait > self.max_wait:
                raise GhlRateLimited(
                    f"GHL rate limit: no free slot within {self.max_wait:g}s", retry_after=wait
                )
            # A little jitter so workers woken by the same slot do not collide.
            nap = wait + random.uniform(0, 0.01)
            self._sleep(nap)
            waited += nap

    def pause(self, seconds: float, *, daily: bool = False) -> None:
        """Stop every worker of this location from sending for `seconds`."""
        if seconds <= 0:
            return
        key = self.daily_key if daily else self.pause_key
        self._eval(_PAUSE, [key], [int(seconds * 1000)])
        logger.warning("ghl rate limiter: location paused for %.1fs%s", seconds, " (daily quota)" if daily else "")

    def paused_for(self) -> float:
        """Return how many seconds the burst pause still lasts (0.0 if none). For status pages and tests."""
        try:
            ttl_ms = self.connection.pttl(self.pause_key)
        except redis.RedisError as exc:
            raise GhlLimiterUnavailable(f"GHL rate limiter unavailable (Redis: {exc.__class__.__name__})") from None
        return max(0.0, ttl_ms / 1000.0 - 1.0) if ttl_ms and ttl_ms > 0 else 0.0

    def record_response(self, status: int, headers: Mapping[str, str]) -> None:
        if status == 429:
            self.pause(retry_after_seconds(headers, self.window_seconds))
            return
        if _header(headers, "X-RateLimit-Daily-Remaining") == "0":
            self.pause(seconds_until_utc_midnight(), daily=True)
        elif _header(headers, "X-RateLimit-Remaining") == "0":
            self.pause(interval_seconds(headers, self.window_seconds))

    def reset(self) -> None:
        """Forget the window and any pause (operators and tests)."""
        try:
            self.connection.delete(self.window_key, self.pause_key, self.daily_key, self.seq_key)
        except redis.RedisError as exc:
            raise GhlLimiterUnavailable(f"GHL rate limiter unavailable (Redis: {exc.__class__.__name__})") from None


def get_limiter(location_id: str | None = None) -> RedisRateLimiter:
    return RedisRateLimiter(location_id=location_id)
