"""The day as outreach counts it, handed to ramp's daily report as plain values.

Ramp owns the report, its KPI judgement and its recommendation
(`ramp.report`); this module only reads outreach's tables for one operating day.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.utils import timezone

from outreach.models import CardStatus, CardTransition, EmailEvent, Lead, PendingEmail, RejectionTag
from outreach.ops import queue_facts
from outreach.sending.cycles import settle_cycles
from ramp import report
from ramp.days import day_bounds, operating_date


def day_activity(date: dt.date) -> report.DayActivity:
    """Count the operating day `date`: reviews, rejections by tag, sends and what came back."""
    start, end = day_bounds(date)
    moves = CardTransition.objects.filter(created_at__gte=start, created_at__lt=end)
    rejected_rows = (
        moves.filter(to_status=CardStatus.REJECTED)
        .values("card__rejection_tag__slug", "card__rejection_tag__label", "card__rejection_tag__system")
        .annotate(n=Count("card", distinct=True))
        .order_by("-n", "card__rejection_tag__slug")
    )
    rejected_by_tag = {(r["card__rejection_tag__slug"] or "untagged"): r["n"] for r in rejected_rows}

    def leads_with(field: str) -> int:
        return Lead.objects.filter(**{f"{field}__gte": start, f"{field}__lt": end}).count()

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
        sent=PendingEmail.objects.filter(status=CardStatus.SENT, sent_at__gte=start, sent_at__lt=end).count(),
        replies=leads_with("replied_at"),
        bounces=leads_with("bounced_at"),
        unsubscribes=leads_with("unsubscribed_at"),
        events=dict(
            EmailEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
            .values_list("kind")
            .annotate(n=Count("pk"))
            .order_by()
        ),
    )


def daily_report(date: dt.date | None = None, *, now: dt.datetime | None = None) -> dict:
    """Count `date` (default today), and have ramp build, judge and store its daily report."""
    now = now or timezone.now()
    date = date or operating_date(now)
    # The report groups the day by live cycle: bring each cycle's outcome up to date first.
    settle_cycles(date=date)
    return report.daily_report(day_activity(date), queue_facts(now=now), now=now)
