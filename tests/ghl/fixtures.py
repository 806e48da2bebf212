"""Pytest fixtures for the GHL sandbox, imported by tests/conftest.py so every test package can use them.

* `ghl_sandbox` - a fresh sandbox in a thread of the test process; Django settings
  (GHL_BASE_URL, GHL_TOKEN, GHL_LOCATION_ID, webhook public keys, short timeouts,
  a generous rate limit) point at it, so `ghl.client.get_client()` talks to it.
  Yields a `SandboxControl` (`.client()`, `.add_fault()`, `.deliveries()`, ...).
* `ghl_sandbox_process` - the same through a real `manage.py ghl_sandbox`
  subprocess (one per test session, reset for each test); yields the
  `SandboxProcess` (`.control`, `.read_state()`).
* `webhook_receiver` - a loopback HTTP server that records deliveries and answers
  with scripted statuses, standing in for the app's webhook URL.
"""

from __future__ import annotations

import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ghl.sandbox.testing import SandboxProcess, SandboxThread
from tests.ghl.contract import ContractRecorder


def sandbox_settings(*, base_url: str, token: str, location_id: str, public_key: str) -> dict:
    """The Django settings that point `ghl.client.get_client()` and webhook verification at a sandbox."""
    return {
        "GHL_BASE_URL": base_url,
        "GHL_TOKEN": token,
        "GHL_LOCATION_ID": location_id,
        "GHL_CONNECT_TIMEOUT": 1.0,
        "GHL_READ_TIMEOUT": 2.0,
        # Tests make many calls in a few seconds; the shared limiter must not slow them down.
        "GHL_RATE_LIMIT_REQUESTS": 10_000,
        "GHL_WEBHOOK_ED25519_PUBLIC_KEY": public_key,
    }


def _point_settings_at(settings, **sandbox) -> None:
    for name, value in sandbox_settings(**sandbox).items():
        setattr(settings, name, value)


def _fail_on_contract_violations(recorder: ContractRecorder) -> None:
    if recorder.violations:
        pytest.fail(
            f"{len(recorder.violations)} breach(es) of GHL's published API (tests/ghl/contract.py):\n" + recorder.report(),
            pytrace=False,
        )


@pytest.fixture
def ghl_sandbox(settings):
    """A fresh in-process GHL sandbox; settings point at it. Yields its SandboxControl.

    Every request our client makes and every answer the sandbox gives is held
    to GHL's published spec; a breach no allowance covers fails the test.
    """
    recorder = ContractRecorder()
    with SandboxThread() as running:
        running.sandbox.observers.append(recorder)
        _point_settings_at(
            settings,
            base_url=running.base_url,
            token=running.sandbox.token,
            location_id=running.sandbox.location_id,
            public_key=running.sandbox.public_key_pem(),
        )
        running.control.sandbox = running.sandbox  # in-process access for white-box assertions
        running.control.contract = recorder
        yield running.control
    _fail_on_contract_violations(recorder)


@pytest.fixture(scope="session")
def ghl_sandbox_server_process():
    with SandboxProcess() as process:
        yield process


@pytest.fixture
def ghl_sandbox_process(ghl_sandbox_server_process, settings):
    """The sandbox as a real subprocess (reset for this test); settings point at it. Yields the SandboxProcess."""
    process = ghl_sandbox_server_process
    process.control.reset()
    _point_settings_at(
        settings,
        base_url=process.base_url,
        token=process.control.token,
        location_id=process.control.location_id,
        public_key=process.control.public_key_pem(),
    )
    yield process
    # Another process: its answers are not seen here, but its request log is.
    recorder = ContractRecorder()
    for entry in process.control.requests():
        recorder.check_logged_request(entry)
    _fail_on_contract_violations(recorder)


class WebhookReceiver:
    """Records POSTed deliveries; answers each with the next scripted status (default 200)."""

    def __init__(self) -> None:
        self.deliveries: list[dict] = []
        self.statuses: deque[int] = deque()
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.statuses.popleft() if receiver.statuses else 200
                with receiver.arrived:
                    receiver.deliveries.append({"body": body, "headers": dict(self.headers.items()), "status": status})
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/ghl/"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.deliveries) >= count, timeout=timeout)
        return list(self.deliveries)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()
