"""Start-up configuration: a bad or missing setting stops with a line naming the key."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caio.config import Config
from ghl.sandbox.keys import ed25519_key, rsa_key
from ghl.webhooks import public_key_pem
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "caio.example.com",
    "GHL_TOKEN": "pit-production-token",
    "GHL_LOCATION_ID": "loc123",
    "DATABASE_URL": "sqlite:///:memory:",
    # A key of our own app's, as GHL's developer portal gives it (raw, hex).
    "GHL_WEBHOOK_ED25519_PUBLIC_KEY": Ed25519PrivateKey.generate()
    .public_key()
    .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    .hex(),
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items() if key not in PRODUCTION and not key.startswith(("SECURE_", "REDIS_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_it_passes_the_deploy_checks_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("key", ["SECRET_KEY", "ALLOWED_HOSTS", "GHL_TOKEN", "GHL_LOCATION_ID", "GHL_WEBHOOK_ED25519_PUBLIC_KEY"])
def test_it_stops_naming_a_missing_production_key(key):
    env = {name: value for name, value in PRODUCTION.items() if name != key}

    result = manage("check", env=env)

    assert result.returncode == 2
    assert result.stderr.strip() == f"Configuration error: Setting {key} is required but not set (see .env.example)."


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("PENDING_QUEUE_MAX_AGE_HOURS", "three days", "must be a whole number, got 'three days'"),
        ("PREFLIGHT_MAX_AGE_MINUTES", "0", "must be at least 1, got 0"),
        ("REDIS_REQUIRED", "maybe", "must be true or false, got 'maybe'"),
        ("OPERATING_TIMEZONE", "Mars/Olympus", "must be an IANA time zone"),
        ("DATABASE_URL", "nosuchdb://x", "unsupported database scheme"),
        ("GHL_READ_TIMEOUT", "fast", "must be a number, got 'fast'"),
        ("SECRET_KEY", "short", "must be at least 50 random characters"),
        ("SENDER_NAME", "The CAIO team\r\nBcc: x@evil.example", "contains a line break or control character"),
        ("SENDER_EMAIL", "outreach at caio.example", "is not an email address we can send from"),
        ("SENDER_EMAIL", "outreach@\u2665.example", "is not an email address we can send from"),
        ("GHL_WEBHOOK_ED25519_PUBLIC_KEY", "", "is empty; production needs the key of your GHL app"),
        ("GHL_WEBHOOK_ED25519_PUBLIC_KEY", "abc123", "cannot be parsed"),
        ("GHL_WEBHOOK_ED25519_PUBLIC_KEY", public_key_pem(rsa_key()), "is not an Ed25519 key"),
        ("GHL_WEBHOOK_ED25519_PUBLIC_KEY", public_key_pem(ed25519_key()), "is the GHL sandbox's default public key"),
        ("GHL_WEBHOOK_RSA_PUBLIC_KEY", public_key_pem(ed25519_key("other")), "is not an RSA key"),
    ],
)
def test_it_stops_naming_a_malformed_key(key, value, message):
    result = manage("check", env={**PRODUCTION, key: value})

    assert result.returncode == 2
    assert result.stderr.startswith(f"Configuration error: Setting {key} ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_it_never_echoes_a_secret_in_a_config_error(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "super-secret-value")
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:6379/0")

    with pytest.raises(ImproperlyConfigured) as secret_error:
        Config().int("SECRET_KEY")
    with pytest.raises(ImproperlyConfigured) as url_error:
        Config().bool("REDIS_URL")

    assert "SECRET_KEY" in str(secret_error.value) and "super-secret-value" not in str(secret_error.value)
    assert "REDIS_URL" in str(url_error.value) and "hunter2" not in str(url_error.value)
