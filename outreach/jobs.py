"""RQ jobs of the outreach app: thin, taking primary keys only.

Each job re-fetches its row and lets the dispatch function decide from the
row's state whether there is anything left to do, so running a job twice (a
duplicate enqueue, a retry, a reconcile) never sends twice.
"""

from __future__ import annotations

import logging

from django.db import close_old_connections, connection

from outreach.sending.job import send_card
from outreach.transitions import StateChanged

logger = logging.getLogger(__name__)


def dispatch_card(card_pk: int) -> str:
    """Send one queued card (see outreach.sending.job.send_card); return the outcome name."""
    # A worker may run many jobs in one process: drop connections the database
    # closed or that outlived CONN_MAX_AGE, as Django does around each request.
    _drop_stale_connections()
    try:
        outcome = send_card(card_pk)
    except StateChanged as exc:
        # Someone else (another job, reconcile, a person) moved the card first:
        # their move stands and this job has nothing left to do.
        logger.warning("Card %s: %s", card_pk, exc)
        return "skipped"
    finally:
        _drop_stale_connections()
    return outcome.outcome


def _drop_stale_connections() -> None:
    # Inside a transaction (a caller's atomic block, a test) there is nothing to drop.
    if not connection.in_atomic_block:
        close_old_connections()


# The scheduler role (`bin/role scheduler`) loads this module as RQ's cron
# configuration: importing it registers the scheduled jobs.
from outreach import cron_cadence  # noqa: E402,F401
