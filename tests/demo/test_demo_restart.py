"""`make demo`, stop, `make demo` again: the same demo comes back.

The whole of bin/demo runs twice on one state directory: the same port,
logins and tokens; an approved card still passes compliance (its unsubscribe
link names the port); `verify_sent` finds the first run's sends in the GHL
sandbox, whose state outlived the restart; and a webhook after the restart
counts, since the sandbox's ids never repeat.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest
import requests

from tests.dispatch.conftest import PROJECT_ROOT, wait_until

pytestmark = pytest.mark.slow

# What the demo's processes need from this environment: nothing of the test run's own settings.
KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Demo:
    """One run of bin/demo on `var`, until stop()."""

    def __init__(self, var: Path, **env: str) -> None:
        self.var = var
        self.env = {k: v for k, v in os.environ.items() if k in KEPT} | {"CAIO_DEMO_VAR": str(var)} | env
        self.banner = ""

    def __enter__(self) -> Demo:
        log = open(self.var.parent / f"demo-{len(list(self.var.parent.glob('demo-*.log')))}.log", "w+")
        self.process = subprocess.Popen(
            ["bin/demo"], cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.log = log

        def started() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"bin/demo stopped:\n{Path(log.name).read_text()}")
            self.banner = Path(log.name).read_text()
            return "CAIO is running." in self.banner

        wait_until(started, timeout=240, interval=0.5, message="the demo's banner")
        return self

    def __exit__(self, *exc) -> None:
        # As a platform or a terminal stops it: bin/demo stops everything it started.
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)
        self.log.close()

    @property
    def url(self) -> str:
        return re.search(r"Back office:\s+(http://127\.0\.0\.1:\d+)/admin/", self.banner).group(1)

    def secret(self, label: str) -> str:
        return re.search(rf"^\s+{label}\s+(\S+)", self.banner, re.M).group(1)

    @property
    def api_token(self) -> str:
        return re.search(r"API token \(header 'Authorization: Bearer …'\): (\S+)", self.banner).group(1)

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        env = self.env | {"CAIO_DEMO_ENV": str(self.var / "demo.env")}
        return subprocess.run(["bin/manage", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180)

    def settings(self) -> dict[str, str]:
        text = (self.var / "demo.env").read_text()
        return dict(re.findall(r"^export (\w+)=(.*)$", text, re.M))

    def count(self, sql: str) -> int:
        with sqlite3.connect(f"file:{self.var / 'demo.sqlite3'}?mode=ro", uri=True) as db:
            return db.execute(sql).fetchone()[0]


def logs_in(base: str, username: str, password: str) -> bool:
    session = requests.Session()
    session.get(f"{base}/admin/login/", timeout=10)
    answer = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"], "next": "/admin/"},
        headers={"Referer": f"{base}/admin/login/"},
        timeout=10,
    )
    return answer.url == f"{base}/admin/" and "Log out" in answer.text


SENT = "SELECT count(*) FROM outreach_pendingemail WHERE status = 'sent' AND ghl_message_id NOT LIKE 'demo%'"


def test_the_demo_comes_back_the_same_after_a_restart(tmp_path):
    var = tmp_path / "var"
    with Demo(var, PORT=str(free_port())) as first:
        base, token = first.url, first.api_token
        passwords = {name: first.secret(name) for name in ("admin", "hos", "operator")}
        assert logs_in(base, "hos", passwords["hos"])
        # One of the two approved cards goes out; the other waits, approved, across the restart.
        cycle = first.manage("dispatch", "--live", "--operator", "operator", "--noinput", "--limit", "1")
        assert cycle.returncode == 0, cycle.stdout + cycle.stderr
        wait_until(lambda: first.count(SENT) == 1, timeout=60, message="the first send")

    # No PORT this time: the demo takes the port it lives on.
    with Demo(var) as second:
        assert second.url == base and second.api_token == token
        assert {name: second.secret(name) for name in passwords} == passwords
        assert logs_in(base, "operator", passwords["operator"])
        assert requests.get(f"{base}/api/ramp", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200

        # The approved card still passes compliance: it is the one the dry run would send.
        dry = second.manage("dispatch")
        assert "Would send now (1):" in dry.stdout and "fails_compliance" not in dry.stdout, dry.stdout
        traced = json.loads(second.manage("trace_queue", "--json").stdout)
        assert "fails_compliance" not in traced["counts"]["held_back_by_reason"]

        # The sandbox kept its state: the first run's send is found in GHL.
        verified = second.manage("verify_sent")
        assert verified.returncode == 0 and "1 sent card(s) checked, 0 missing" in verified.stdout, verified.stdout

        # A new webhook after the restart has a new id, and counts.
        sandbox = second.settings()["GHL_BASE_URL"]
        message = requests.get(f"{sandbox}/_sandbox/deliveries", timeout=10).json()["deliveries"][0]["email_message_id"]
        clicks = second.count("SELECT count(*) FROM outreach_emailevent WHERE kind = 'clicked'")
        stored = second.count("SELECT count(*) FROM outreach_webhookdelivery")
        answer = requests.post(
            f"{sandbox}/_sandbox/webhooks/trigger", json={"event": "clicked", "email_message_id": message}, timeout=30
        ).json()
        assert [delivery["final_status"] for delivery in answer["deliveries"]] == [200]
        assert second.count("SELECT count(*) FROM outreach_webhookdelivery") == stored + 1
        assert second.count("SELECT count(*) FROM outreach_emailevent WHERE kind = 'clicked'") == clicks + 1
