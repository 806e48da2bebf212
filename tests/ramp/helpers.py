"""Helpers for the operator-gate tests: a fixed clock inside the window, a stub GHL, a live worker."""

from __future__ import annotations

import datetime as dt
import json
import threading
import zoneinfo
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings

from ramp.models import PreflightRun, RampDay

NY = zoneinfo.ZoneInfo("America/New_York")
# A Thursday at 15:30 New York time: inside the default 15:00–18:00 window.
IN_WINDOW = dt.datetime(2026, 2, 19, 15, 30, tzinfo=NY)
OUT_OF_WINDOW = dt.datetime(2026, 2, 19, 9, 0, tzinfo=NY)


@contextmanager
def stub_ghl(status: int = 200, body: dict | None = None):
    """Serve every GET on a free loopback port with `status` and a JSON body; yield the base URL and the request log."""
    seen: list[dict] = []
    payload = json.dumps(body if body is not None else ({"contact": None} if status == 200 else {"message": "Invalid token"})).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            seen.append({"path": self.path, "body": self.rfile.read(length).decode()})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def dispatch_worker():
    """Register a dispatch worker in Redis (as `rqworker dispatch` does) for the duration."""
    from rq import Queue, Worker

    from caio.redis import get_connection

    connection = get_connection()
    worker = Worker([Queue("dispatch", connection=connection)], connection=connection)
    worker.register_birth()
    try:
        yield worker
    finally:
        worker.register_death()
        connection.close()


def passed_preflight(at: dt.datetime) -> PreflightRun:
    return PreflightRun.objects.create(ran_at=at, passed=True, results=[])


def live_day(date: dt.date, *, sent: int = 2, errors: int = 0, decision: str = "continue", hold: bool = False, kpis: dict | None = None) -> RampDay:
    """A live ramp day as a finished cycle and its daily report leave it."""
    return RampDay.objects.create(
        date=date,
        is_live=True,
        cap=5,
        dispatched_count=sent,
        sent_count=sent,
        error_count=errors,
        hold_was_active=hold,
        decision=decision,
        decided_by="pto" if decision else "",
        kpis=kpis if kpis is not None else {"sent": sent, "replies": 0, "bounces": 0, "unsubscribes": 0, "complaints": 0},
    )


def strict_settings() -> dict:
    return {"DASHBOARD_AUTH_STRICT": True, "REDIS_REQUIRED": True, "SLACK_WEBHOOK_URL": "", "GHL_LOCATION_ID": settings.GHL_LOCATION_ID}


def dead_port() -> int:
    """Return a loopback port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
