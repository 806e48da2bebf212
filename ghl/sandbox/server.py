"""The sandbox's HTTP front: a threaded stdlib server on the loopback interface.

API paths are answered by `Sandbox.handle_api`, `/_sandbox/...` by
`Sandbox.handle_control`. HTTP/1.1 keep-alive, so a `requests.Session` reuses
its connection as it would against GHL.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from ghl.sandbox.core import Outcome, Sandbox

logger = logging.getLogger(__name__)

CONTROL_PREFIX = "/_sandbox"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GHL-Sandbox/1.0"
    # Headers and body go out in two writes; without TCP_NODELAY each keep-alive answer waits ~40 ms.
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        sandbox = self.server.sandbox
        try:
            if parts.path == CONTROL_PREFIX or parts.path.startswith(CONTROL_PREFIX + "/"):
                outcome = sandbox.handle_control(self.command, parts.path, query, raw_body)
            else:
                outcome = sandbox.handle_api(self.command, parts.path, query, dict(self.headers.items()), raw_body)
        except Exception as exc:  # a sandbox bug must show up as an answer, not as a dropped connection
            logger.exception("sandbox failed on %s %s", self.command, parts.path)
            # GHL's own 500 body: the error itself goes to the sandbox's log, never into an answer.
            outcome = Outcome(status=500, body={"statusCode": 500, "message": "Internal server error"})
        self._answer(outcome)

    def _answer(self, outcome: Outcome) -> None:
        stop = self.server.sandbox.stop_event
        if outcome.hold:
            # Hold the request past the client's read timeout, then hang up without an answer.
            stop.wait(outcome.hold)
            self.close_connection = True
            return
        if outcome.disconnect:
            self.close_connection = True
            return
        if outcome.delay:
            stop.wait(outcome.delay)
        payload = b"" if outcome.body is None else json.dumps(outcome.body).encode("utf-8")
        try:
            self.send_response(outcome.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in outcome.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its read timeout) before we answered.
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        # Request lines only (never headers: they carry the bearer token).
        logger.debug("sandbox %s - %s", self.address_string(), format % args)


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the sandbox listens on the loopback interface only, not {host!r}")
        self.sandbox = sandbox
        super().__init__((host, port), SandboxRequestHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        # Wake held requests and pending webhook retries first, so shutdown is quick.
        self.sandbox.stop_event.set()
        self.shutdown()
        self.server_close()
