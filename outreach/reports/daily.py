"""The day as outreach counts it, handed to ramp's daily report as plain values.

Ramp owns the report, its KPI judgement and its recommendation
(`ramp.report`); this module only reads outreach's tables for one operating day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from outreach.models import CardStatus, CardTransition, EmailEvent, Lead, PendingEmail, RejectionTag
from outreach.reports.queue_facts import queue_facts
from outreach.sending.cycles import settle_cycles
from ramp import report
from ramp.days import day_bounds, operating_date


# The lead fields whose instant puts a reply, a bounce or an unsubscribe on a day.
LEAD_OUTCOMES = {"replies": "replied_at", "bounces": "bounced_at", "unsubscribes": "unsubscribed_at"}


def _sent_between(start: dt.datetime, end: dt.datetime) -> Q:
    """The cards that count as sent in [start, end)."""
    return Q(status=CardStatus.SENT, sent_at__gte=start, sent_at__lt=end)


def _lead_outcome_between(field: str, start: dt.datetime, end: dt.datetime) -> Q:
    """The leads whose `field` instant falls in [start, end)."""
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


@dataclass(frozen=True)
class DayTotals:
    """The four figures the index charts for one operating day."""

    date: dt.date
    sent: int
    replies: int
    bounces: int
    unsubscribes: int


def day_totals(dates: Sequence[dt.date]) -> list[DayTotals]:
    """Return sent, replies, bounces and unsubscribes of each day in `dates`, as `day_activity` counts them.

    Two queries whatever the number of days: one over the cards, one over the
    leads, each counting every day's bounds (`ramp.days.day_bounds`, so a
    daylight-saving day keeps its 23 or 25 hours) as a filtered aggregate.
    """
    if not dates:
        return []
    bounds = [day_bounds(date) for date in dates]
    first, last = min(start for start, _ in bounds), max(end for _, end in bounds)
    sent = PendingEmail.objects.filter(_sent_between(first, last)).aggregate(
        **{f"d{n}": Count("pk", filter=_sent_between(start, end)) for n, (start, end) in enumerate(bounds)}
    )
    in_range = Q()
    for field in LEAD_OUTCOMES.values():
        in_range |= _lead_outcome_between(field, first, last)
    outcomes = Lead.objects.filter(in_range).aggregate(
        **{
            f"{name}{n}": Count("pk", filter=_lead_outcome_between(field, start, end))
            for name, field in LEAD_OUTCOMES.items()
            for n, (start, end) in enumerate(bounds)
        }
    )
    return [
        DayTotals(date=date, sent=sent[f"d{n}"], **{name: outcomes[f"{name}{n}"] for name in LEAD_OUTCOMES})
        for n, date in enumerate(dates)
    ]


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
        return Lead.objects.filter(_lead_outcome_between(field, start, end)).count()

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
        sent=PendingEmail.objects.filter(_sent_between(start, end)).count(),
        replies=leads_with(LEAD_OUTCOMES["replies"]),
        bounces=leads_with(LEAD_OUTCOMES["bounces"]),
        unsubscribes=leads_with(LEAD_OUTCOMES["unsubscribes"]),
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
