"""Start the sandbox from tests and scripts, and drive it through its control API.

* `SandboxThread` - the sandbox in a thread of the current process (fast).
* `SandboxProcess` - a real `manage.py ghl_sandbox` subprocess with a state file.
* `SandboxControl` - a small stdlib HTTP client for `/_sandbox/...`: reset,
  configure limits and faults, add contacts, set DND, read the delivery log,
  trigger and replay webhooks.

No pytest here (this module ships with the app); fixtures live in the tests.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ghl.client import GhlClient
from ghl.ratelimit import NullLimiter
from ghl.sandbox.core import DEFAULT_LOCATION_ID, DEFAULT_TOKEN, Sandbox
from ghl.sandbox.server import SandboxHTTPServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandboxControlError(Exception):
    pass


class SandboxControl:
    """Client for the sandbox control API (and a factory of GhlClients pointed at the sandbox)."""

    def __init__(self, base_url: str, *, token: str = DEFAULT_TOKEN, location_id: str = DEFAULT_LOCATION_ID) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.location_id = location_id

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, str] | None = None):
        url = f"{self.base_url}/_sandbox{path}"
        if query:
            url += "?" + urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise SandboxControlError(f"{method} {path} -> {exc.code}: {detail}") from None

    # -- GHL client ---------------------------------------------------------

    def client(self, **overrides: Any):
        """Return a GhlClient for this sandbox: no shared limiter, short timeouts, fast backoff."""
        options: dict[str, Any] = {
            "base_url": self.base_url,
            "token": self.token,
            "location_id": self.location_id,
            "limiter": NullLimiter(),
            "connect_timeout": 1.0,
            "read_timeout": 2.0,
            "backoff_seconds": 0.01,
        }
        options.update(overrides)
        return GhlClient(**options)

    # -- control --------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def public_key_pem(self) -> str:
        return self.health()["ed25519_public_key"]

    def reset(self) -> None:
        self._call("POST", "/reset", {})

    def configure(self, **config: Any) -> dict[str, Any]:
        """Change config: rate_limit={max, interval_ms, daily, retry_after_header}, webhook_url,
        webhook_retry_interval, webhook_max_retries, auto_events, sign_rsa, webhook_stamps (timestamp and
        webhookId on deliveries; default on), lc_operations (LCEmailStats' undocumented block; default
        off), messages_list_shape
        (flat, the spec's, by default | nested), email_shape / message_shape (bare, the spec's, by
        default | wrapped), messages_page_size, location={allow_duplicates, duplicate_priority}.
        Per-endpoint Version and locationId are always enforced."""
        return self._call("POST", "/config", config)

    def outcomes(self, **changes: Any) -> dict[str, Any]:
        """Read (no arguments) or change the outcome generator: enabled, seed, delay_seconds,
        rates={bounced_hard, bounced_soft, opened, clicked, complained, unsubscribed, replied, meeting},
        reply_mix={interested, not_now, out_of_office, stop}."""
        if not changes:
            return self._call("GET", "/outcomes")["outcomes"]
        return self._call("POST", "/outcomes", changes)["outcomes"]

    def outcome_plan(self, message_id: str) -> list[dict[str, Any]]:
        return self._call("GET", "/outcomes/plan", query={"message_id": message_id})["plan"]

    def add_token(self, token: str, *, location_id: str | None = None, scopes: list[str] | None = None) -> None:
        body: dict[str, Any] = {"token": token, "location_id": location_id or self.location_id}
        if scopes is not None:
            body["scopes"] = scopes
        self._call("POST", "/tokens", body)

    def add_fault(
        self,
        endpoint: str | list[str],
        mode: str,
        *,
        count: int | None = None,
        skip: int | None = None,
        probability: float | None = None,
        status: int | None = None,
        delay: float | None = None,
        deliver: bool = False,
        retry_after: float | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Add a fault for an endpoint name (e.g. "conversations.send", "*").

        mode: error (status, default 500) | timeout (hold `delay` s, then hang up) | latency (`delay` s,
        then answer normally) | rate_limit (429, Retry-After only when `retry_after` is given) |
        disconnect (hang up at once) | empty (200 with an empty body). `deliver=True` makes a send take effect although the answer
        fails (the ambiguous case). `count` = next N matching calls; `skip` = let the first N matching
        calls through first (page 3 of a listing failing is skip=2); `probability` = each call's odds.
        """
        body: dict[str, Any] = {"endpoints": [endpoint] if isinstance(endpoint, str) else endpoint, "mode": mode}
        for key, value in (
            ("count", count),
            ("skip", skip),
            ("probability", probability),
            ("status", status),
            ("delay", delay),
            ("retry_after", retry_after),
            ("message", message),
        ):
            if value is not None:
                body[key] = value
        body["deliver"] = deliver
        return self._call("POST", "/faults", body)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")["faults"]

    def add_contact(self, email: str, **fields: Any) -> dict[str, Any]:
        """Create a contact directly (any email, even invalid; `unsubscribed=True`, `dnd=True`, `dndSettings`)."""
        return self._call("POST", "/contacts", {"email": email, **fields})["contact"]

    def contacts(self) -> list[dict[str, Any]]:
        return self._call("GET", "/contacts")["contacts"]

    def set_dnd(
        self, contact_id: str, status: str | None = "active", *, dnd: bool | None = None, emit: bool = False
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"emit": emit}
        if status is not None:
            body["status"] = status
        if dnd is not None:
            body["dnd"] = dnd
        return self._call("POST", f"/contacts/{contact_id}/dnd", body)["contact"]

    def unsubscribe(self, contact_id: str) -> dict[str, Any]:
        return self._call("POST", f"/contacts/{contact_id}/unsubscribe", {})["contact"]

    def deliveries(self, contact_email: str | None = None) -> list[dict[str, Any]]:
        """Every email the sandbox "delivered": contact email, the From as received (from) with its from_name and
        from_email, subject, html, text, ids, time, status."""
        query = {"contact_email": contact_email} if contact_email else None
        return self._call("GET", "/deliveries", query=query)["deliveries"]

    def requests(self) -> list[dict[str, Any]]:
        """The API request log (method, path, headers without Authorization, endpoint, status, json)."""
        return self._call("GET", "/requests")["requests"]

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/state")

    def trigger(self, event: str, **spec: Any) -> dict[str, Any]:
        """Deliver a webhook event to the configured webhook_url (see Sandbox.trigger for switches)."""
        return self._call("POST", "/webhooks/trigger", {"event": event, **spec})

    def replay(self, webhook_id: str, *, url: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"webhook_id": webhook_id}
        if url:
            body["url"] = url
        return self._call("POST", "/webhooks/replay", body)

    def webhooks(self) -> list[dict[str, Any]]:
        return self._call("GET", "/webhooks")["webhooks"]

    def wait_for_webhooks(self, timeout: float = 10.0) -> None:
        self._call("POST", "/webhooks/wait", {"timeout": timeout})


class SandboxThread:
    """The sandbox inside this process, on a free loopback port."""

    def __init__(self, *, port: int = 0, **sandbox_options: Any) -> None:
        self.sandbox = Sandbox(**sandbox_options)
        self.server = SandboxHTTPServer(self.sandbox, port=port)
        self.control = SandboxControl(self.server.base_url, token=self.sandbox.token, location_id=self.sandbox.location_id)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def start(self) -> SandboxThread:
        self.server.start_in_thread()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> SandboxThread:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


class SandboxProcess:
    """`manage.py ghl_sandbox` as a real subprocess, with its state in a JSON file other processes can read."""

    def __init__(
        self,
        *,
        port: int | None = None,
        state_file: str | None = None,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self.port = port or free_port()
        self._tmpdir: tempfile.TemporaryDirectory | None = None
        if state_file is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="ghl-sandbox-")
            state_file = os.path.join(self._tmpdir.name, "state.json")
        self.state_file = state_file
        self.extra_args = extra_args or []
        self.env = env
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self._log_handle = None
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.control = SandboxControl(self.base_url)

    def start(self) -> SandboxProcess:
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("DEBUG", "true")
        command = [
            sys.executable,
            str(PROJECT_ROOT / "manage.py"),
            "ghl_sandbox",
            "--port",
            str(self.port),
            "--state",
            self.state_file,
            *self.extra_args,
        ]
        # Output goes to a file beside the state, not a pipe nobody drains (a full pipe would block the server).
        self.log_file = self.state_file + ".log"
        self._log_handle = open(self.log_file, "w", encoding="utf-8")
        self.process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=self._log_handle, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ghl_sandbox exited with {self.process.returncode}: {self.output()}")
            try:
                self.control.health()
                return self
            except (OSError, SandboxControlError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"ghl_sandbox did not answer on port {self.port} within {self.startup_timeout}s")

    def output(self) -> str:
        """What the sandbox printed so far (banner, warnings)."""
        with open(self.log_file, encoding="utf-8") as handle:
            return handle.read()

    def read_state(self) -> dict[str, Any]:
        """Read the persisted state file (what another process would see)."""
        with open(self.state_file, encoding="utf-8") as handle:
            return json.load(handle)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log_handle", None) is not None:
            self._log_handle.close()
            self._log_handle = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
