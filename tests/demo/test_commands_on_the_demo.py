"""Commands against the running demo (bin/manage and the file bin/demo writes), and a bare manage.py
on a database that is not there: one line saying what is missing, no empty file, no traceback."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dispatch.conftest import PROJECT_ROOT, database_url


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)


def bare_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_TEST_NAME")}
    env.update(DEBUG="true", **extra)
    return env


def test_a_bare_manage_py_on_a_missing_database_says_so_in_one_line_and_creates_nothing(tmp_path):
    target = tmp_path / "nothing.sqlite3"
    done = run([sys.executable, "manage.py", "ramp", "status"], bare_env(DATABASE_URL=f"sqlite:///{target}"))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"No database at {target}: run `manage.py migrate` to create it, or `bin/manage ...` to run against the running demo (`make demo`)."
    ]
    assert not target.exists() and "Traceback" not in done.stdout + done.stderr


def test_an_empty_database_file_is_named_as_empty_and_help_still_works(tmp_path):
    target = tmp_path / "empty.sqlite3"
    target.touch()
    env = bare_env(DATABASE_URL=f"sqlite:///{target}")
    done = run([sys.executable, "manage.py", "daily_report"], env)
    assert done.returncode == 2 and done.stderr.strip().startswith(f"The database at {target} has no tables:")
    assert target.stat().st_size == 0
    helped = run([sys.executable, "manage.py", "daily_report", "--help"], env)
    assert helped.returncode == 0 and "usage:" in helped.stdout


def test_bin_manage_without_a_running_demo_says_how_to_start_one(tmp_path):
    done = run(["bin/manage", "ramp", "status"], bare_env(CAIO_DEMO_ENV=str(tmp_path / "demo.env")))
    assert done.returncode == 2
    assert done.stderr.strip() == f"No demo settings in {tmp_path / 'demo.env'}: start the demo with `make demo` first (or run manage.py with your own settings)."


@pytest.mark.django_db(transaction=True)
def test_bin_manage_runs_any_command_with_the_settings_the_demo_wrote(tmp_path):
    settings_file: Path = tmp_path / "demo.env"
    # What bin/demo writes: shell-quoted exports, the secret key among them.
    settings_file.write_text(
        "".join(
            f"export {name}={shlex.quote(value)}\n"
            for name, value in {
                "DEBUG": "true",
                "CAIO_ENVIRONMENT": "demo",
                "SECRET_KEY": "k" * 64,
                "DATABASE_URL": database_url(),
                "CAIO_DEMO_PID": str(os.getpid()),
            }.items()
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_TEST_NAME", "DEBUG", "SECRET_KEY")}
    env["CAIO_DEMO_ENV"] = str(settings_file)
    done = run(["bin/manage", "ramp", "status"], env)
    assert done.returncode == 0, done.stderr
    assert "cap" in done.stdout.lower() and "not running" not in done.stderr
