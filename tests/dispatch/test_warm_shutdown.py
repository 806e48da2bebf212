"""The deployed worker role stopped by its platform in the middle of a send.

A platform stops a container with SIGTERM to its first process, then SIGKILL
once its grace period is over. The worker role (`bin/role worker`) is started
here as the image starts it, and signalled as a platform signals it: the
worker's own process, not its process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from outreach.models import PendingEmail
from outreach.sending.select import start_live_cycle
from tests.dispatch.conftest import PROJECT_ROOT, wait_until
from tests.dispatch.helpers import approved_card, green_gates, settled_by_reconcile
from tests.dispatch.test_end_to_end import assert_delivered_exactly_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]

SEND = "conversations.send"
# What RQ logs when a SIGTERM starts its warm shutdown.
WARM = "warm shut down requested"


def start_worker_role(processes, **env_overrides: str) -> subprocess.Popen:
    """Start `bin/role worker` on this test's database, Redis and sandbox."""
    env = processes.env(**env_overrides)
    # bin/role runs `python` from PATH, as in the image: here, this test's interpreter.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    log = open(processes.tmp_path / "worker-role.log", "w", encoding="utf-8")
    process = subprocess.Popen(
        [str(PROJECT_ROOT / "bin" / "role"), "worker"], cwd=PROJECT_ROOT, env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    process.log_path = log.name
    log.close()
    processes.children.append(process)
    return process


def send_in_flight(processes, control, *, delay: float):
    """A live cycle of one card whose send GHL holds `delay` seconds; return the card and the worker."""
    green_gates(daily_cap=1)
    card = approved_card()
    # The sandbox records the email, then holds its answer: the request has left, the worker waits.
    control.add_fault(SEND, "latency", delay=delay, count=1)
    start_live_cycle(operator=processes.operator)
    worker = start_worker_role(processes, GHL_READ_TIMEOUT="60")
    wait_until(lambda: PendingEmail.objects.get(pk=card.pk).status == "sending", message="the send in flight")
    wait_until(lambda: len(control.deliveries()) == 1, message="GHL to record the email")
    return card, worker


def children_of(pid: int) -> list[int]:
    """Return the pids of a process's children (the worker's work horse runs in its own process group)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.fixture
def role_processes(processes, operator):
    processes.operator = operator
    return processes


def test_a_worker_told_to_stop_mid_send_finishes_the_send_once_and_exits(role_processes, ghl_sandbox_process):
    control = ghl_sandbox_process.control
    card, worker = send_in_flight(role_processes, control, delay=4)

    os.kill(worker.pid, signal.SIGTERM)
    worker.wait(timeout=60)

    # It should finish the request it had started, record it, and only then stop.
    log = Path(worker.log_path).read_text()
    assert worker.returncode == 0 and WARM in log, log
    assert PendingEmail.objects.get(pk=card.pk).status == "sent"
    assert_delivered_exactly_once(ghl_sandbox_process, [card])
    assert len(control.deliveries()) == 1


def test_a_worker_killed_when_its_grace_period_ends_leaves_the_card_for_reconcile(role_processes, ghl_sandbox_process):
    control = ghl_sandbox_process.control
    card, worker = send_in_flight(role_processes, control, delay=30)

    os.kill(worker.pid, signal.SIGTERM)
    horses = wait_until(lambda: children_of(worker.pid), message="the worker's work horse")
    wait_until(lambda: WARM in Path(worker.log_path).read_text(), message="the warm shutdown to begin")
    # The grace period is over: the platform kills everything in the container.
    for pid in [worker.pid, *horses]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.wait(timeout=30)

    # It should stay `sending` (nobody knows whether it went out) and reconcile finds it sent, once.
    assert PendingEmail.objects.get(pk=card.pk).status == "sending"
    # Reconcile runs on a schedule: a run may leave the card while GHL is still finishing the held request.
    report = wait_until(lambda: settled_by_reconcile(card.pk), timeout=60, message="reconcile to settle the card")
    assert report.sent == [card.pk]
    assert_delivered_exactly_once(ghl_sandbox_process, [card])
    assert len(control.deliveries()) == 1
