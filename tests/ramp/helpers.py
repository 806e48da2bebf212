"""Helpers for the operator-gate tests: a fixed clock inside the window, a registered dispatch worker, ramp days."""

from __future__ import annotations

import datetime as dt
import socket
import zoneinfo
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth import get_user_model
from rq import Queue, Worker

from caio.models import GateRun
from caio.redis import get_connection
from caio.releases import record_gate_run
from outreach.roles import HEAD_OF_SALES
from ramp import services
from ramp.days import window_bounds
from ramp.models import Hold, PreflightRun, RampDay, RampPolicy
from tests.factories import make_user

NY = zoneinfo.ZoneInfo("America/New_York")
# A Thursday at 15:30 New York time: inside the default 15:00–18:00 window.
IN_WINDOW = dt.datetime(2026, 2, 19, 15, 30, tzinfo=NY)
OUT_OF_WINDOW = dt.datetime(2026, 2, 19, 9, 0, tzinfo=NY)


@contextmanager
def dispatch_worker():
    """Register a dispatch worker in Redis (as `rqworker dispatch` does) for the duration."""
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
    """A live ramp day as a finished cycle and its daily report leave it (`hold`: a person's hold raised
    and cleared inside its sending window)."""
    if hold:
        start, _ = window_bounds(RampPolicy.get(), date)
        Hold.objects.create(
            reason="checking a bounce", raised_by="pto", raised_at=start + dt.timedelta(minutes=5),
            cleared_at=start + dt.timedelta(minutes=20), cleared_by="pto", clear_reason="a typo in the list",
        )
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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def replay_and_smoke_passed() -> None:
    """The runbook's gates after the latest deploy, as `replay` and `smoke` of this instance record them."""
    record_gate_run(GateRun.Kind.REPLAY, passed=True, target="replay_cases", summary="Pass rate 1.00 (31/31), required 0.95")
    record_gate_run(GateRun.Kind.SMOKE, passed=True, target=settings.PUBLIC_BASE_URL, summary="9 of 9 checks passed")


def head_of_sales_signs_off_and_confirms(today: dt.date, *, by: str = "quality-hos") -> None:
    """The Head of Sales' part of the exit criteria, as graduation needs it: the sign-off, then the
    confirmation for the clean streak that runs up to `today` (at least one of its days decided)."""
    if not get_user_model().objects.filter(username=by).exists():
        make_user(by, role=HEAD_OF_SALES)
    services.sign_off_quality(by=by)
    services.confirm_copy_quality(by=by, today=today)


def quiet_intake():
    """Webhook intake facts with nothing to report: no refusal, no send waiting for its events."""
    from django.utils import timezone

    from ramp.stop_conditions import IntakeFacts

    return IntakeFacts(since=timezone.now())
