"""`manage.py await_migrations`: a role started before the release's migrations waits for them, then starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage_env(database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "SQLITE_TEST_NAME")}
    return {**env, "DEBUG": "true", "DATABASE_URL": database_url}


def manage(*args: str, database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=manage_env(database_url), capture_output=True, text=True, timeout=180
    )


def test_it_names_the_migrations_still_missing_when_the_wait_ends(tmp_path):
    result = manage("await_migrations", "--timeout", "0", database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}")

    assert result.returncode == 1
    assert "Gave up after 0 s:" in result.stderr
    assert "migration(s) not applied yet: contenttypes.0001_initial" in result.stderr
    assert "Run the release role (`bin/role release`" in result.stderr


def test_it_says_why_the_database_cannot_be_read():
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    result = manage("await_migrations", "--timeout", "0", database_url="postgres://caio@127.0.0.1:1/caio")

    assert result.returncode == 1
    assert "the database cannot be read (OperationalError" in result.stderr


def test_it_waits_until_the_release_migrates_then_starts(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    waiting = subprocess.Popen(
        [sys.executable, "manage.py", "await_migrations", "--timeout", "170", "--interval", "0.2"],
        cwd=ROOT, env=manage_env(database_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        # The event: it says it is waiting, before anything is migrated.
        first = waiting.stdout.readline()
        assert first.startswith("Waiting for the release role:") and "not applied yet" in first
        assert waiting.poll() is None

        migrated = manage("migrate", "--no-input", database_url=database_url)
        assert migrated.returncode == 0, migrated.stderr

        rest, errors = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 0, errors
    assert rest.strip().splitlines()[-1] == "Migrations applied: starting."


def test_it_starts_at_once_on_a_migrated_database(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    assert manage("migrate", "--no-input", database_url=database_url).returncode == 0

    result = manage("await_migrations", "--timeout", "0", database_url=database_url)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
