"""A claim's bookkeeping: the day a claimed card counts against, and giving a claim back.

Apart from `select` (which claims) so that whatever must give a card back, the
job and the approval service alike, can do it without importing the claim and
its eligibility rules.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from outreach.models import PendingEmail
from outreach.transitions import StateChanged, transition
from ramp import counters
from ramp.days import claim_date, operating_date
from ramp.models import RampPolicy

WORKER_LABEL = "dispatch worker"


def claim_day_of(card: PendingEmail) -> dt.date:
    """The operating day a claimed card counts against (its claim's window day)."""
    policy = RampPolicy.objects.filter(pk=1).first() or RampPolicy()
    return claim_date(policy, card.queued_at) if card.queued_at else operating_date()


def release(pk: int, expected: str, to_status: str, *, reason: str, actor=None, actor_label: str = WORKER_LABEL, **fields) -> bool:
    """Give a claimed card back (not sent) and return its slot to the day it was claimed on; `fields` are stored with it."""
    card = PendingEmail.objects.filter(pk=pk).only("pk", "status", "queued_at").first()
    if card is None:
        return False
    claimed_on = claim_day_of(card)
    try:
        with transaction.atomic():
            transition(card, to_status, expected=expected, actor=actor, actor_label=actor_label, reason=reason, queued_at=None, **fields)
            counters.release_claim(claimed_on)
    except StateChanged:
        return False
    return True
