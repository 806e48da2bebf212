"""With REDIS_REQUIRED=true and Redis down, commands that need it stop with one clear line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def dead_redis_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there once the socket closes


def manage(*args: str, database: str) -> subprocess.CompletedProcess:
    url = dead_redis_url()
    env = {**os.environ, "DEBUG": "true", "REDIS_REQUIRED": "true", "REDIS_URL": url, "DATABASE_URL": database}
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    result.redis_url = url
    return result


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """A migrated, seeded database file, built once: both tests only read it while refusing to start."""
    url = f"sqlite:///{tmp_path_factory.mktemp('redis-required') / 'db.sqlite3'}"
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": url}
    for command in (["migrate", "-v", "0"], ["seed_demo", "--users"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, check=True, timeout=300, env=env, capture_output=True)
    return url


def test_the_worker_stops_with_one_line_naming_redis_url(database):
    result = manage("rqworker", "dispatch", "--burst", database=database)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"REDIS_URL={result.redis_url}" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_live_cycle_is_refused_naming_redis_url(database):
    result = manage("dispatch", "--live", "--operator", "operator", "--noinput", database=database)

    assert result.returncode != 0
    assert "REDIS_URL=" in result.stderr
    assert "Traceback" not in result.stderr
