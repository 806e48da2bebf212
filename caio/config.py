"""Typed access to environment settings that names the key on every error.

django-environ parses the values; this wrapper turns its bare ValueErrors
("invalid literal for int()") into `ImproperlyConfigured` errors that say which
key is wrong and what it should look like.
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

_MISSING = object()
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


class Config:
    def __init__(self, env_file: Path | None = None) -> None:
        self.env = environ.Env()
        if env_file is not None and env_file.exists():
            environ.Env.read_env(str(env_file), overwrite=False)

    @staticmethod
    def fail(key: str, problem: str) -> None:
        raise ImproperlyConfigured(f"Setting {key} {problem}.")

    def _raw(self, key: str, default: Any) -> Any:
        value = self.env.str(key, default=_MISSING)
        if value is _MISSING:
            if default is None or default is _MISSING:
                self.fail(key, "is required but not set (see .env.example)")
            return default
        return value

    def str(self, key: str, default: Any = _MISSING, secret: bool = False) -> str:
        # `secret` documents intent; values are never echoed in errors anyway.
        return self._raw(key, default)

    def bool(self, key: str, default: bool | None = _MISSING) -> bool:
        value = self._raw(key, default)
        if isinstance(value, bool):
            return value
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        self.fail(key, f"must be true or false, got {value!r}")

    def int(self, key: str, default: int | None = _MISSING, minimum: int | None = None) -> int:
        value = self._raw(key, default)
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.fail(key, f"must be a whole number, got {value!r}")
        if minimum is not None and number < minimum:
            self.fail(key, f"must be at least {minimum}, got {number}")
        return number

    def float(self, key: str, default: float | None = _MISSING) -> float:
        value = self._raw(key, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            self.fail(key, f"must be a number, got {value!r}")

    def list(self, key: str, default: list | None = _MISSING) -> list[str]:
        value = self._raw(key, default)
        if isinstance(value, list):
            return value
        return [item.strip() for item in value.split(",") if item.strip()]

    def path(self, key: str, default: Path | None = _MISSING) -> Path:
        return Path(self._raw(key, default))

    def url(self, key: str, default: str | None = _MISSING) -> str:
        value = self._raw(key, default)
        parsed = urlparse(value)
        if not parsed.scheme or not (parsed.netloc or parsed.path):
            self.fail(key, "must be a URL such as scheme://host:port/...")
        return value

    def timezone(self, key: str, default: str | None = _MISSING) -> str:
        value = self._raw(key, default)
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.fail(key, f"must be an IANA time zone such as America/New_York, got {value!r}")
        return value

    def db(self, key: str, default: str) -> dict:
        value = self.url(key, default)
        try:
            parsed = environ.Env.db_url_config(value)
        except Exception:  # django-environ raises several types for bad URLs
            self.fail(key, "must be a database URL such as sqlite:///path or postgres://user:pass@host:5432/name")
        if not parsed.get("ENGINE"):
            self.fail(key, f"names an unsupported database scheme {urlparse(value).scheme!r}")
        return parsed
