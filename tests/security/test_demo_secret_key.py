"""The demo signs with a key of its own, never the public development default."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from caio.settings import PUBLIC_DEVELOPMENT_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]


def manage_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "CAIO_ENVIRONMENT", "DEBUG")}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def demo_secret_key(directory: Path) -> str:
    """Run bin/servers.sh's demo_secret_key, as bin/demo does."""
    script = 'source bin/servers.sh; trap stop_servers EXIT; demo_secret_key "$1"'
    result = subprocess.run(["bash", "-c", script, "demo", str(directory)], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "is the public development key, which the demo environment may not use"),
        (PUBLIC_DEVELOPMENT_SECRET_KEY, "is the public development key, which the demo environment may not use"),
        ("", "is empty"),
    ],
    ids=["unset", "public-default", "empty"],
)
def test_the_demo_settings_refuse_the_public_or_an_empty_key(value, problem):
    env = {"DEBUG": "true", "CAIO_ENVIRONMENT": "demo"} | ({} if value is None else {"SECRET_KEY": value})

    result = manage_check(env)

    assert result.returncode == 2
    assert result.stderr.strip() == f"Configuration error: Setting SECRET_KEY {problem}."


def test_the_demo_makes_its_own_key_once_and_keeps_it_private(tmp_path):
    first = demo_secret_key(tmp_path / "var")
    again = demo_secret_key(tmp_path / "var")
    elsewhere = demo_secret_key(tmp_path / "other")

    assert len(first) >= 50 and first != PUBLIC_DEVELOPMENT_SECRET_KEY
    assert again == first  # sessions and unsubscribe links survive a restart
    assert elsewhere != first
    assert stat.S_IMODE((tmp_path / "var" / "secret_key").stat().st_mode) == 0o600


def test_the_demo_settings_accept_the_key_the_demo_made(tmp_path):
    result = manage_check({"DEBUG": "true", "CAIO_ENVIRONMENT": "demo", "SECRET_KEY": demo_secret_key(tmp_path)})

    assert result.returncode == 0, result.stderr


def test_bin_demo_exports_its_own_key():
    script = (ROOT / "bin" / "demo").read_text()

    # bin/demo cannot run here whole (it serves until Ctrl-C); it should take its key from var/ before Django starts.
    assert 'export SECRET_KEY="$(demo_secret_key "$var")"' in script
    assert script.index('demo_secret_key "$var"') < script.index("manage migrate")
