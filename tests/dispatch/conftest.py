"""Fixtures of the dispatch tests: roles that survive transactional tests, and real
processes (GHL sandbox, RQ workers, a private Redis) for the end-to-end and fault tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _roles(db):
    """Recreate the role groups: transactional tests flush what data migrations created."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    from outreach.roles import ROLES, sync_roles

    if Group.objects.filter(name__in=list(ROLES)).count() != len(ROLES):
        sync_roles(apps)


# ---------------------------------------------------------------------------
# Real processes: RQ workers and `manage.py` commands on the test database.

import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """Return a DATABASE_URL naming the test database this test process uses."""
    from django.db import connection

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(settings_dict["NAME"])
        if name.startswith("file:memorydb") or name == ":memory:":
            pytest.skip("an in-memory SQLite test database is not shared with other processes (run through bin/test)")
        return f"sqlite:///{name}"
    if connection.vendor == "postgresql":
        user = settings_dict.get("USER") or ""
        password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{user}{password}@{host}{port}/{settings_dict['NAME']}"
    pytest.skip(f"no DATABASE_URL form for {connection.vendor}")


class ProcessEnv:
    """Environment for child processes: same test database, Redis and GHL sandbox as this test."""

    def __init__(self, settings, tmp_path: Path) -> None:
        self.settings = settings
        self.tmp_path = tmp_path
        self.children: list[subprocess.Popen] = []

    def env(self, **overrides: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("SQLITE_TEST_NAME", None)
        env.update(
            {
                "DEBUG": "true",
                "DATABASE_URL": database_url(),
                "REDIS_URL": self.settings.REDIS_URL,
                "GHL_BASE_URL": self.settings.GHL_BASE_URL,
                "GHL_TOKEN": self.settings.GHL_TOKEN,
                "GHL_LOCATION_ID": self.settings.GHL_LOCATION_ID,
                "GHL_CONNECT_TIMEOUT": str(self.settings.GHL_CONNECT_TIMEOUT),
                "GHL_READ_TIMEOUT": str(self.settings.GHL_READ_TIMEOUT),
                "GHL_RATE_LIMIT_REQUESTS": str(self.settings.GHL_RATE_LIMIT_REQUESTS),
                "PENDING_QUEUE_MAX_AGE_HOURS": str(self.settings.PENDING_QUEUE_MAX_AGE_HOURS),
                "LOG_LEVEL": "INFO",
            }
        )
        env.update(overrides)
        return env

    def start(self, *args: str, name: str = "proc", **env_overrides: str) -> subprocess.Popen:
        """Start `manage.py ARGS` in its own process group (so a SIGKILL reaches its forks too)."""
        log = open(self.tmp_path / f"{name}-{len(self.children)}.log", "w", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "manage.py"), *args],
            cwd=PROJECT_ROOT,
            env=self.env(**env_overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        process.log_path = log.name
        log.close()
        self.children.append(process)
        return process

    def run(self, *args: str, timeout: float = 60, **env_overrides: str) -> subprocess.CompletedProcess:
        """Run `manage.py ARGS` to the end and return its exit code and output."""
        return subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "manage.py"), *args],
            cwd=PROJECT_ROOT,
            env=self.env(**env_overrides),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def worker(self, *, burst: bool = False, scheduler: bool = True, **env_overrides: str) -> subprocess.Popen:
        args = ["rqworker", "dispatch", "--worker-ttl", "30"]
        if burst:
            args.append("--burst")
        if scheduler:
            args.append("--with-scheduler")
        return self.start(*args, name="worker", **env_overrides)

    def run_burst_worker(self, timeout: float = 60, **env_overrides: str) -> str:
        """Run one burst worker until the queue is empty; return its log."""
        process = self.worker(burst=True, scheduler=False, **env_overrides)
        process.wait(timeout=timeout)
        output = Path(process.log_path).read_text()
        assert process.returncode == 0, output
        return output

    @staticmethod
    def output(process: subprocess.Popen) -> str:
        return Path(process.log_path).read_text()

    @staticmethod
    def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Signal the process group of a child we started, then reap it."""
        if process.poll() is None:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        for process in self.children:
            self.stop(process)
            # A burst worker's forks may outlive it only until their job ends; reap the group anyway.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture
def spawner(settings, tmp_path, redis_conn):
    """Start `manage.py` processes on this test's database and Redis; all stopped at the end."""
    spawned = ProcessEnv(settings, tmp_path)
    yield spawned
    spawned.stop_all()


@pytest.fixture
def processes(spawner, ghl_sandbox_process):
    """Like `spawner`, with settings (and so the children) pointed at the GHL sandbox process."""
    spawner.settings.GHL_RATE_LIMIT_REQUESTS = 10_000
    return spawner


class PrivateRedis:
    """A redis-server of this test alone, on a free loopback port, that the test may stop and restart."""

    def __init__(self, tmp_path: Path) -> None:
        from ghl.sandbox.testing import free_port

        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        connection = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(connection), timeout=10, message="the private redis-server")
        connection.close()
        return self

    def stop(self) -> None:
        """Stop it hard: everything it held is lost, as after a crash without persistence."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def _pings(connection) -> bool:
    import redis

    try:
        return bool(connection.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path).start()
    yield server
    server.stop()


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}")
