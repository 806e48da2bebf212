"""One place that knows how to reach Redis and how to say that it cannot."""

from __future__ import annotations

from urllib.parse import urlparse, urlunparse

import redis
from django.conf import settings
from django.core.management.base import CommandError


class RedisUnavailable(CommandError):
    """Redis cannot be reached at REDIS_URL."""


def redacted_redis_url(url: str | None = None) -> str:
    """Return REDIS_URL with any password replaced, safe for logs and pages."""
    parsed = urlparse(url or settings.REDIS_URL)
    if parsed.password:
        netloc = f"{parsed.username or ''}:***@{parsed.hostname}"
        if parsed.port:
            netloc += f":{parsed.port}"
        parsed = parsed._replace(netloc=netloc)
    return urlunparse(parsed)


def get_connection() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


def ping() -> float:
    """Return the round-trip time to Redis in milliseconds; raise RedisUnavailable if down."""
    import time

    connection = get_connection()
    started = time.perf_counter()
    try:
        connection.ping()
    except redis.RedisError as exc:
        raise RedisUnavailable(
            f"Redis is not reachable at REDIS_URL={redacted_redis_url()} ({exc.__class__.__name__}: {exc})"
        ) from None
    finally:
        connection.close()
    return (time.perf_counter() - started) * 1000


def require_redis() -> None:
    """Stop a command with one clear line when Redis is required and down."""
    ping()
