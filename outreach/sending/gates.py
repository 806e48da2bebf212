"""The live cycle's gates: one function the `dispatch` command and the admin console both call.

`live_gates` runs ramp's preflight in-process when no passed run is fresh
(giving it outreach's queue facts as plain values), then returns every reason
a live cycle may not start now: the operator's permission, ramp's gates
(`ramp.gates.live_cycle_blockers`) and Redis.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from caio.redis import RedisUnavailable, ping as redis_ping
from outreach.reports.queue_facts import queue_facts
from ramp.gates import live_cycle_blockers
from ramp.models import Hold, PreflightRun
from ramp.preflight import run_preflight

LIVE_CYCLE_PERMISSION = "outreach.run_live_cycle"


class DispatchRefused(Exception):
    """A live cycle may not start; `reasons` lists every reason, each actionable."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("Live cycle refused: " + "; ".join(self.reasons))


def _redis_blockers() -> list[str]:
    try:
        redis_ping()
    except RedisUnavailable as exc:
        return [f"{exc} Start Redis before a live cycle: queued jobs live there."]
    return []


def gate_blockers(*, operator=None, now: dt.datetime | None = None, check_redis: bool = True) -> list[str]:
    """Return every reason a live cycle may not start now (empty: it may)."""
    reasons: list[str] = []
    if operator is not None and not operator.has_perm(LIVE_CYCLE_PERMISSION):
        reasons.append(f"User {operator.get_username()} lacks the live-cycle permission ({LIVE_CYCLE_PERMISSION}).")
    reasons.extend(live_cycle_blockers(now=now))
    if check_redis:
        reasons.extend(_redis_blockers())
    return reasons


def ensure_fresh_preflight(*, ran_by: str, now: dt.datetime | None = None) -> str:
    """Run ramp's preflight in-process when no fresh passed run exists; return what happened.

    Returns "" when a fresh passed run already exists, else a line describing
    the run that was attempted. The gates then decide: a failed run still blocks.
    """
    now = now or timezone.now()
    last = PreflightRun.objects.order_by("-ran_at").first()
    if last is not None and last.passed and last.is_fresh(now):
        return ""
    run = run_preflight(ran_by=ran_by, facts_provider=queue_facts)
    if run.passed:
        return "Ran preflight in-process: passed."
    failed = [row.get("name", "?") for row in run.results if not row.get("passed")]
    return f"Ran preflight in-process: FAILED ({', '.join(failed) or 'see manage.py preflight'})."


@dataclass
class Gates:
    """What `live_gates` found: the preflight it ran ('' when none was needed) and every blocker."""

    preflight_note: str = ""
    blockers: list[str] = field(default_factory=list)

    @property
    def green(self) -> bool:
        return not self.blockers


def live_gates(*, operator, now: dt.datetime | None = None) -> Gates:
    """Return the live cycle's gates for `operator`: a preflight run in-process when none is fresh, then every blocker.

    An operator without the live-cycle permission never triggers a preflight run.
    """
    now = now or timezone.now()
    note = ""
    if operator.has_perm(LIVE_CYCLE_PERMISSION):
        note = ensure_fresh_preflight(ran_by=operator.get_username(), now=now)
    return Gates(preflight_note=note, blockers=gate_blockers(operator=operator, now=now))


def active_hold_lines() -> list[str]:
    """Return one line per active hold, for every dispatch command and page to show."""
    return [hold.as_line() for hold in Hold.objects.active().order_by("raised_at")]
