"""Keep each live cycle's record (`ramp.cycles.LiveCycle`) in step with its cards.

`start_live_cycle` stores the cycle when it is refused or claims cards;
`settle_cycles` counts what became of the claimed cards (sent, failed,
released, still in flight) and closes a cycle once none is in flight. The
daily report and reconcile call it, so the record is current when read.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db.models import Max
from django.utils import timezone

from outreach.models import CardStatus, PendingEmail
from ramp.cycles import LIVE_GATES, LiveCycle
from ramp.days import claim_date
from ramp.models import PreflightRun, RampPolicy



def cycle_date(now: dt.datetime) -> dt.date:
    """The operating day a cycle belongs to: the day its claims count against (a window crossing midnight is the day it started)."""
    return claim_date(RampPolicy.objects.filter(pk=1).first() or RampPolicy(), now)


def record_refused(*, operator: str, now: dt.datetime, reasons: list[str]) -> LiveCycle:
    return LiveCycle.objects.create(
        date=cycle_date(now),
        operator=operator,
        started_at=now,
        ended_at=now,
        outcome=LiveCycle.Outcome.REFUSED,
        refused_because=list(reasons),
    )


def gates_passed(now: dt.datetime) -> list[str]:
    """The gates a cycle that starts now has passed, naming the preflight run it relied on."""
    preflight = PreflightRun.objects.filter(passed=True, ran_at__lte=now).order_by("-ran_at").first()
    lines = list(LIVE_GATES)
    if preflight is not None:
        lines[2] = f"a fresh passed preflight (run {preflight.pk} at {preflight.ran_at:%H:%M} UTC)"
    return lines


def record_claimed(*, operator: str, now: dt.datetime, card_ids: list[int], held_back_by_reason: dict[str, int]) -> LiveCycle:
    return LiveCycle.objects.create(
        date=cycle_date(now),
        operator=operator,
        started_at=now,
        outcome=LiveCycle.Outcome.SENDING if card_ids else LiveCycle.Outcome.SETTLED,
        ended_at=None if card_ids else now,
        gates_passed=gates_passed(now),
        card_ids=list(card_ids),
        claimed=len(card_ids),
        in_flight=len(card_ids),
        held_back_by_reason=dict(held_back_by_reason),
    )


def settle_cycles(*, date: dt.date | None = None) -> list[LiveCycle]:
    """Count what became of each unsettled cycle's cards (of `date`, or every day) and close those with none in flight."""
    cycles = LiveCycle.objects.filter(outcome=LiveCycle.Outcome.SENDING)
    if date is not None:
        cycles = cycles.filter(date=date)
    settled = []
    for cycle in cycles:
        cards = PendingEmail.objects.filter(pk__in=cycle.card_ids)
        statuses = Counter(cards.values_list("status", flat=True))
        cycle.sent = statuses[CardStatus.SENT]
        cycle.failed = statuses[CardStatus.FAILED]
        cycle.in_flight = sum(statuses[status] for status in CardStatus.IN_FLIGHT)
        # A claimed card back in the queue, or rejected since, was handed back unsent.
        cycle.released = cycle.claimed - cycle.sent - cycle.failed - cycle.in_flight
        if cycle.in_flight == 0:
            cycle.outcome = LiveCycle.Outcome.SETTLED
            cycle.ended_at = cards.aggregate(last=Max("updated_at"))["last"] or timezone.now()
            settled.append(cycle)
        cycle.save(update_fields=["sent", "failed", "in_flight", "released", "outcome", "ended_at"])
    return settled
