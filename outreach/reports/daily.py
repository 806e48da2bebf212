"""The day as outreach counts it, handed to ramp's daily report as plain values.

Ramp owns the report, its KPI judgement and its recommendation
(`ramp.report`); this module only reads outreach's tables for one operating day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone

from outreach.models import CardStatus, CardTransition, EmailEvent, RejectionTag
from outreach.reports import outcomes
from outreach.reports.queue_facts import queue_facts
from outreach.sending.cycles import settle_cycles
from ramp import report
from ramp.days import day_bounds, operating_date


@dataclass(frozen=True)
class DayTotals:
    """The four figures the index charts for one operating day: its sends and what came back from them."""

    date: dt.date
    sent: int
    replies: int
    bounces: int
    unsubscribes: int


def day_totals(dates: Sequence[dt.date]) -> list[DayTotals]:
    """Return sent, replies, bounces and unsubscribes of each day in `dates`, as `day_activity` counts them
    (each outcome on the day its email was sent, `outreach.reports.outcomes`)."""
    if not dates:
        return []
    days = outcomes.by_send_day(min(dates), max(dates))
    return [
        DayTotals(date=date, sent=len(days[date].sent), replies=len(days[date].replies), bounces=len(days[date].bounces), unsubscribes=len(days[date].unsubscribes))
        for date in dates
    ]


def day_activity(date: dt.date) -> report.DayActivity:
    """Count the operating day `date`: reviews, rejections by tag, sends and what came back from them."""
    start, end = day_bounds(date)
    moves = CardTransition.objects.filter(created_at__gte=start, created_at__lt=end)
    rejected_rows = (
        moves.filter(to_status=CardStatus.REJECTED)
        .values("card__rejection_tag__slug", "card__rejection_tag__label", "card__rejection_tag__system")
        .annotate(n=Count("card", distinct=True))
        .order_by("-n", "card__rejection_tag__slug")
    )
    rejected_by_tag = {(r["card__rejection_tag__slug"] or "untagged"): r["n"] for r in rejected_rows}

    own = outcomes.send_counts(outcomes.day_outcomes(date))
    return report.DayActivity(
        date=date,
        approved=moves.filter(to_status=CardStatus.APPROVED).values("card").distinct().count(),
        rejected_by_tag=rejected_by_tag,
        top_rejection_reasons=[
            {"tag": r["card__rejection_tag__slug"], "label": r["card__rejection_tag__label"], "count": r["n"]}
            for r in rejected_rows
            if r["card__rejection_tag__slug"] and not r["card__rejection_tag__system"]
        ],
        hygiene_rejected=rejected_by_tag.get(RejectionTag.HYGIENE, 0),
        # The day's sends by claim day, and their outcomes whenever they arrived; what arrived today beside them.
        **own,
        arrived=outcomes.arrived_on(date),
        events=dict(
            EmailEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
            .values_list("kind")
            .annotate(n=Count("pk"))
            .order_by()
        ),
        not_sent=[
            {"card": card_id, "reason": reason}
            for card_id, reason in moves.filter(to_status=CardStatus.FAILED).order_by("created_at", "pk").values_list("card_id", "reason")
        ],
    )


def daily_report(date: dt.date | None = None, *, now: dt.datetime | None = None) -> dict:
    """Count `date` (default today), and have ramp build, judge and store its daily report."""
    now = now or timezone.now()
    date = date or operating_date(now)
    # The report groups the day by live cycle: bring each cycle's outcome up to date first.
    settle_cycles(date=date)
    return report.daily_report(day_activity(date), queue_facts(now=now), now=now)
