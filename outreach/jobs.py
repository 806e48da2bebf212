"""RQ jobs of the outreach app: thin, taking primary keys only.

Each job re-fetches its row and lets the dispatch function decide from the
row's state whether there is anything left to do, so running a job twice (a
duplicate enqueue, a retry, a reconcile) never sends twice.
"""

from __future__ import annotations

import logging

from outreach.transitions import StateChanged

logger = logging.getLogger(__name__)


def dispatch_card(card_pk: int) -> str:
    """Send one queued card (see outreach.dispatch.send_card); return the outcome name."""
    from outreach.dispatch import send_card

    try:
        outcome = send_card(card_pk)
    except StateChanged as exc:
        # Someone else (another job, reconcile, a person) moved the card first:
        # their move stands and this job has nothing left to do.
        logger.warning("Card %s: %s", card_pk, exc)
        return "skipped"
    return outcome.outcome
