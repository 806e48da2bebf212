"""The model drafter's daily budget: what a day of model drafting spent, and whether more may be spent.

Counted from ModelCall rows, failed draftings included (their tokens were
paid for), over the current day in the project's time zone. The check runs
before each group of model requests, so a day overshoots by at most one
group's cost (4 x the run's concurrency drafts: pipeline.MODEL_GROUP_FACTOR).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone

from outreach.models import ModelCall


def day_start(now: datetime | None = None) -> datetime:
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def spent_on_day(now: datetime | None = None) -> dict:
    """Return the day's model drafting: calls, cards, tokens in and out, and cost in USD."""
    start = day_start(now)
    rows = ModelCall.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))
    totals = rows.aggregate(calls=Count("pk"), tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"), cost=Sum("cost"))
    totals["cards"] = rows.filter(ok=True).count()
    return {key: value or (Decimal(0) if key == "cost" else 0) for key, value in totals.items()}


def budget_reached(now: datetime | None = None) -> str:
    """Return the message that stops model drafting when the day's budget is spent, or ''."""
    budget = Decimal(str(settings.MODEL_DAILY_BUDGET))
    spent = spent_on_day(now)["cost"]
    if spent >= budget:
        return (
            f"The daily model budget is reached: ${spent:.4f} spent of ${budget:.2f} today. "
            "Model drafting stops until tomorrow, or until MODEL_DAILY_BUDGET is raised."
        )
    return ""
