"""Typed access to environment settings that names the key on every error.

django-environ parses the values; this wrapper turns its bare ValueErrors
("invalid literal for int()") into `ImproperlyConfigured` errors that say which
key is wrong and what it should look like.
"""

from __future__ import annotations

import sqlite3
import zoneinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

_MISSING = object()
# Values of these keys are never quoted back in an error: they are secrets, or
# URLs that may carry a password.
SECRET_KEYS = {"SECRET_KEY", "GHL_TOKEN", "SLACK_WEBHOOK_URL", "DATABASE_URL", "REDIS_URL"}
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

    def require(self, *keys: str) -> None:
        """Stop naming every one of `keys` that is not set, so a deploy is fixed in one round, not one per key."""
        missing = [key for key in keys if self.env.str(key, default=_MISSING) is _MISSING]
        if len(missing) == 1:
            self.fail(missing[0], "is required but not set (see .env.example)")
        if missing:
            raise ImproperlyConfigured(f"Settings {', '.join(missing)} are required but not set (see .env.example).")

    @staticmethod
    def shown(key: str, value: Any) -> str:
        return "a hidden value" if key in SECRET_KEYS else repr(value)

    def _raw(self, key: str, default: Any) -> Any:
        value = self.env.str(key, default=_MISSING)
        if value is _MISSING:
            if default is None or default is _MISSING:
                self.fail(key, "is required but not set (see .env.example)")
            return default
        return value

    def str(self, key: str, default: Any = _MISSING) -> str:
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
        self.fail(key, f"must be true or false, got {self.shown(key, value)}")

    def int(self, key: str, default: int | None = _MISSING, minimum: int | None = None) -> int:
        value = self._raw(key, default)
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.fail(key, f"must be a whole number, got {self.shown(key, value)}")
        if minimum is not None and number < minimum:
            self.fail(key, f"must be at least {minimum}, got {number}")
        return number

    def float(self, key: str, default: float | None = _MISSING) -> float:
        value = self._raw(key, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            self.fail(key, f"must be a number, got {self.shown(key, value)}")

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
            self.fail(key, f"must be an IANA time zone such as America/New_York, got {self.shown(key, value)}")
        return value

    def db(self, key: str, default: str) -> dict:
        value = self.url(key, default)
        scheme = urlparse(value).scheme
        if scheme not in environ.Env.DB_SCHEMES:
            self.fail(key, f"names an unsupported database scheme {scheme!r} (use sqlite:// or postgres://)")
        try:
            parsed = environ.Env.db_url_config(value)
        except Exception:  # django-environ raises several types for bad URLs
            self.fail(key, "must be a database URL such as sqlite:///path or postgres://user:pass@host:5432/name")
        return parsed


# Commands that make the database, wait for it, need none, or run on a database of their own.
COMMANDS_WITHOUT_DATABASE = {
    "migrate", "makemigrations", "squashmigrations", "sqlmigrate", "help", "version", "check", "test",
    "collectstatic", "findstatic", "diffsettings", "startapp", "startproject", "ghl_sandbox", "model_sandbox", "compilemessages", "makemessages",
    # An HTTP client of deployed instances, run from an operator's shell or a CI job without a database.
    "smoke",
    # A role's first step: it waits for the release to make the database, saying what is still missing.
    "await_migrations",
}


def missing_database(database: dict, argv: list[str]) -> str | None:
    """Return one line saying what is missing when a command would run on a SQLite database that is not there.

    SQLite creates an empty file on first connect, and every command then fails
    with "no such table" tracebacks; a database with no tables is as empty.
    None when the command needs no database, the database is not SQLite, or it is there.
    """
    command = next((arg for arg in argv[1:] if not arg.startswith("-")), "help")
    if command in COMMANDS_WITHOUT_DATABASE or "--help" in argv or "-h" in argv or "--version" in argv:
        return None
    if database.get("ENGINE") != "django.db.backends.sqlite3":
        return None
    name = str(database.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    path = Path(name)
    hint = "run `manage.py migrate` to create it, or `bin/manage ...` to run against the running demo (`make demo`)"
    if not path.exists():
        return f"No database at {path}: {hint}."
    # Read-only: a connection through Django would create the file it is looking for.
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            found = connection.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='django_migrations'").fetchone()
    except sqlite3.Error as exc:
        return f"The database at {path} cannot be read ({exc}): {hint}."
    if found is None:
        return f"The database at {path} has no tables: {hint}."
    return None
