"""Gates a live send cycle must pass. Each blocker is a sentence an operator can act on."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from caio.releases import smoke_blocker
from ramp.days import in_window, operating_date, window_label
from ramp.models import Hold, PreflightRun, RampDay, RampPolicy


def live_cycle_blockers(*, now: dt.datetime | None = None) -> list[str]:
    """Return why a live cycle may not run now (empty list: it may).

    1. No active hold.
    2. A passed preflight within PREFLIGHT_MAX_AGE_MINUTES, and the last smoke
       of this instance, if any ran, passed.
    3. Inside the policy's sending window.
    4. The previous live day has its continue/hold/rollback decision recorded.
    5. Today's cap is not used up.
    """
    now = now or timezone.now()
    blockers: list[str] = []
    for hold in Hold.objects.active():
        blockers.append(f"Active {hold.as_line()}")
    last = PreflightRun.objects.order_by("-ran_at").first()
    if last is None:
        blockers.append("No preflight has run: run `manage.py preflight` first.")
    elif not last.passed:
        blockers.append(f"The last preflight ({last.ran_at:%H:%M} UTC) failed: fix it and run `manage.py preflight` again.")
    elif not last.is_fresh(now):
        blockers.append(f"The last passed preflight ({last.ran_at:%H:%M} UTC) is older than PREFLIGHT_MAX_AGE_MINUTES.")
    if smoke := smoke_blocker():
        blockers.append(smoke)
    policy = RampPolicy.get()
    if not in_window(policy, now):
        blockers.append(f"Outside the sending window ({window_label(policy)}): live cycles run only inside it.")
    today = operating_date(now)
    previous = RampDay.objects.filter(is_live=True, date__lt=today).order_by("-date").first()
    if previous is not None and not previous.decision:
        blockers.append(
            f"The live day {previous.date} has no decision: record continue, hold or rollback "
            f"(`manage.py ramp decide ... --date {previous.date}` or the ramp day in the admin)."
        )
    day = RampDay.objects.filter(date=today).first()
    if day is not None and day.is_live and day.remaining == 0:
        blockers.append(f"Today's cap of {day.cap} is used ({day.dispatched_count} dispatched).")
    return blockers
