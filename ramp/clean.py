"""A day's clean verdict: the one function graduation, `ramp status`, the daily report, the index and the ramp page read.

A day is clean when it had a live run that sent and made no send error, no
hold was active at any moment of its sending window (a hold that stopped its
sends was, and so was one raised and cleared before its first claim), and its
KPIs, as the outcomes of its window's emails stand now, hold no limit. The
outcomes are attributed to the day each email was sent and restated as they
arrive (`outreach.reports.outcomes.restate`), so a complaint arriving on
Saturday about Friday's email makes Friday not clean from then on.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from ramp.cycles import LiveCycle
from ramp.days import window_bounds
from ramp.kpis import KpiCounts
from ramp.models import Hold, RampDay, RampPolicy

# Where a stored day keeps the window its verdict reads (beside the day's own counts).
WINDOW = "window"


def holds_in_window(policy: RampPolicy, date: dt.date) -> list[Hold]:
    """The holds active at any moment of `date`'s sending window, first raised first."""
    start, end = window_bounds(policy, date)
    return list(
        Hold.objects.filter(raised_at__lt=end).filter(Q(cleared_at__isnull=True) | Q(cleared_at__gt=start)).order_by("raised_at", "pk")
    )


def kpi_problems(day: RampDay, policy: RampPolicy) -> list[str]:
    """The KPI limits that hold over the day's window as stored (the report must exist), by the one verdict.
    A day stored before its window was kept is judged by its own counts."""
    stored = day.kpis or {}
    window = KpiCounts.from_stored(stored.get(WINDOW) or {}) or KpiCounts.from_stored(stored)
    if window is None:
        return [f"no daily report (run `manage.py daily_report --date {day.date}`)"]
    return policy.kpi_problems(window)


def is_clean(day: RampDay, policy: RampPolicy | None = None) -> bool:
    return not day_problems(day, policy)


def day_problems(day: RampDay, policy: RampPolicy | None = None) -> list[str]:
    """Return why `day` is not clean (empty: it is): its run, and its KPI limits over its stored window."""
    policy = policy or RampPolicy.get()
    return run_problems(day, policy) + kpi_problems(day, policy)


def reported(day: RampDay) -> bool:
    """Whether the day's report stored the counts its KPI limits are judged on."""
    stored = day.kpis or {}
    return (KpiCounts.from_stored(stored.get(WINDOW) or {}) or KpiCounts.from_stored(stored)) is not None


def run_problems(day: RampDay, policy: RampPolicy) -> list[str]:
    """Return what in the day's run keeps it from being clean: no live run, a hold during its window, errors, no send."""
    problems = []
    if not day.is_live:
        problems.append("no live run")
    holds = holds_in_window(policy, day.date)
    if holds:
        problems.append(f"{'a hold was' if len(holds) == 1 else 'holds were'} active during its sending window ({', '.join(f'#{h.pk}' for h in holds)})")
    if day.error_count:
        problems.append(f"{day.error_count} send error(s)")
    if day.is_live and not day.sent_count:
        problems.append("nothing was sent")
    return problems


def counts_toward_streak(day: RampDay, policy: RampPolicy) -> bool:
    """A day with no live run neither counts nor breaks the streak, unless a hold stopped it:
    a cycle was tried while a hold was active in its window."""
    if day.is_live:
        return True
    return bool(holds_in_window(policy, day.date)) and LiveCycle.objects.filter(date=day.date).exists()
