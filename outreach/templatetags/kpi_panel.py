"""The admin index's pictures and KPIs: the last 30 days, today's figures, the clean-day streak, drift and anomalies.

Today's figures are counted by `outreach.reports.daily.day_activity`, the function the
daily report counts with; the 30-day chart by `outreach.reports.daily.day_totals`,
which counts every day with the same filters in two queries (not thirty days
of `day_activity`); every rate by `ramp.kpis`. So the index and the report
cannot disagree.
"""

from __future__ import annotations

import datetime as dt

from django import template

from caio import charts
from outreach.reports.daily import day_activity, day_totals
from ramp.days import operating_date, ramp_day
from ramp.models import QueueTrace, RampDay, RampPolicy
from ramp.report import day_counts
from ramp.services import day_verdict, graduation_review, recent_live_days

register = template.Library()

CHART_DAYS = 30


@register.simple_tag
def kpi_overview(days: int = CHART_DAYS) -> dict:
    """Return the index panel: the chart, today's counts and rates, the streak, drift and the day's anomalies."""
    today = operating_date()
    dates = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    totals = day_totals(dates)
    series = [
        ("sent", [t.sent for t in totals]),
        ("replies", [t.replies for t in totals]),
        ("bounces", [t.bounces for t in totals]),
        ("unsubscribes", [t.unsubscribes for t in totals]),
    ]
    day = ramp_day(today)
    counts = day_counts(day_activity(today), day)
    policy = RampPolicy.get()
    review = graduation_review(today=today, policy=policy)
    latest_trace = QueueTrace.objects.order_by("-taken_at").first()
    return {
        "chart": charts.line_chart(f"Last {days} days: sent, replies, bounces, unsubscribes", [f"{d:%m-%d}" for d in dates], series),
        "today": counts,
        "rates": counts.rates(),
        # Green only when graduation may go: a full streak refused for another reason is amber, not a green 3/3.
        "streak": charts.progress(
            "Clean live days toward graduation", len(review.streak), policy.clean_days_required,
            fill="#2e7d32" if review.allowed or len(review.streak) < policy.clean_days_required else "#ef6c00",
        ),
        "streak_lines": [day_verdict(d, policy).as_line() for d in recent_live_days(policy=policy, today=today, limit=5)],
        "streak_days": len(review.streak),
        "streak_needed": policy.clean_days_required,
        "graduation_reasons": review.reasons,
        "drift": latest_trace if latest_trace and latest_trace.drift_flagged else None,
        "anomalies": (day.report or {}).get("anomalies", []),
        "report_day": day,
        "report_generated": (day.report or {}).get("generated_at"),
    }


@register.simple_tag
def cap_steps_chart(days: int = 90):
    """The daily cap over the last `days` ramp days, drawn as steps (graduations and rollbacks show as jumps)."""
    since = operating_date() - dt.timedelta(days=days - 1)
    points = [(f"{date:%Y-%m-%d}", cap) for date, cap in RampDay.objects.filter(date__gte=since).order_by("date").values_list("date", "cap")]
    return charts.step_chart(f"Daily cap per ramp day, last {days} days", points)
