"""Gates a live send cycle must pass. Each blocker is a sentence an operator can act on."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ramp.models import Hold, PreflightRun


def live_cycle_blockers(*, now: dt.datetime | None = None) -> list[str]:
    """Return why a live cycle may not run now (empty list: it may)."""
    now = now or timezone.now()
    blockers: list[str] = []
    for hold in Hold.objects.active():
        blockers.append(f"Hold active since {hold.raised_at:%Y-%m-%d %H:%M} UTC ({hold.source}): {hold.reason}")
    last = PreflightRun.objects.order_by("-ran_at").first()
    if last is None:
        blockers.append("No preflight has run: run `manage.py preflight` first.")
    elif not last.passed:
        blockers.append(f"The last preflight ({last.ran_at:%H:%M} UTC) failed: fix it and run `manage.py preflight` again.")
    elif not last.is_fresh(now):
        blockers.append(f"The last passed preflight ({last.ran_at:%H:%M} UTC) is older than PREFLIGHT_MAX_AGE_MINUTES.")
    return blockers
