"""Reconcile and verify: settle cards whose send outcome is in doubt, and check sent ones exist in GHL.

`reconcile` settles `sending`/`unknown` cards by looking for the card's
idempotency marker in the contact's GHL conversation. A card is resent only
when a complete read confirms the marker is absent; any GhlError (GHL
unreachable, a listing it could not read to the end) leaves the card as it is,
with the reason, and decides nothing. Without `apply` it is a dry run: it
reads GHL and reports what it would settle, and changes no card or queue.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import redis
from django.utils import timezone

from ghl.client import get_client
from ghl.errors import GhlError
from outreach.models import CardStatus, PendingEmail
from outreach.sending.cycles import settle_cycles
from outreach.sending.job import mark_sent
from outreach.sending.queue import cards_with_a_job, enqueue_card, redis_error
from outreach.transitions import StateChanged, transition
from ramp.days import day_bounds, operating_date

logger = logging.getLogger(__name__)
# A `sending` card younger than this may still have a live worker talking to GHL
# (rate-limiter wait + connect + read timeouts), and an `unknown` one may still be
# being recorded by GHL after our read timed out; reconcile leaves both alone.
RECONCILE_GRACE = timedelta(seconds=120)


@dataclass
class ReconcileReport:
    applied: bool = True
    sent: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    reenqueued: list[int] = field(default_factory=list)
    # Queued cards whose job is still in Redis: not enqueued again.
    has_job: list[int] = field(default_factory=list)
    left: list[tuple[int, str]] = field(default_factory=list)
    # In flight and changed within the grace period: a worker or GHL may still be on them, so
    # they are left alone this time (not a failure; the next run after the grace settles them).
    waiting: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.left

    def as_dict(self) -> dict:
        return {
            "applied": self.applied,
            "sent": self.sent,
            "requeued": self.requeued,
            "reenqueued": self.reenqueued,
            "has_job": self.has_job,
            "left": [{"pk": pk, "reason": reason} for pk, reason in self.left],
            "waiting": [{"pk": pk, "status": status} for pk, status in self.waiting],
        }


def reconcile(*, apply: bool, now: dt.datetime | None = None, grace: timedelta = RECONCILE_GRACE) -> ReconcileReport:
    """Settle `unknown`, `sending` and `queued` cards left unchanged longer than `grace`.

    Without `apply`, GHL is read the same way and the report lists what would be
    settled, re-queued and re-enqueued; no card changes and nothing is enqueued.

    1. unknown / stuck sending: look for the card's marker in the contact's GHL
       conversation. Found -> sent (ids recorded). Confirmed absent -> queued and
       re-enqueued: the only path to a resend. GHL unreachable -> left as is.
    2. queued with no progress for `grace` and no job left in Redis (e.g.
       Redis lost its jobs): enqueue again. A card whose job still waits,
       runs or is scheduled (a retry after a 429) is left to it: re-enqueuing
       those on every run fed a 429 storm. The counts are logged per run.
    """
    now = now or timezone.now()
    report = ReconcileReport(applied=apply)
    cutoff = now - grace
    # An `unknown` card gets the same grace as a `sending` one: after a read
    # timeout GHL may still be recording the message, so an "absent" read right
    # away is no confirmation and a resend then would deliver it twice.
    doubtful = PendingEmail.objects.filter(status__in=CardStatus.DOUBTFUL, updated_at__lt=cutoff)
    client = None
    for card in doubtful.select_related("lead").order_by("pk"):
        if not card.ghl_contact_id:
            # The send needs the contact id, which is stored before `sending`: nothing left.
            found, error = None, ""
        else:
            client = client or get_client()
            try:
                found, error = find_card_email(client, card), ""
            except GhlError as exc:
                # Unreachable, refused, or a listing GHL could not give in full:
                # none of them proves the message absent, so nothing is resent.
                found, error = None, str(exc) or exc.__class__.__name__
        if error:
            report.left.append((card.pk, f"GHL could not confirm, left {card.status}: {error}"))
            continue
        if not apply:
            (report.sent if found is not None else report.requeued).append(card.pk)
            continue
        try:
            if found is not None:
                mark_sent(card, found, expected=card.status, reason="Reconciled: GHL has the message", actor_label="reconcile")
                report.sent.append(card.pk)
            else:
                transition(
                    card, CardStatus.QUEUED, expected=card.status, actor_label="reconcile",
                    reason="Reconciled: GHL confirms the message is absent; queued for one resend",
                )
                _enqueue_after_reconcile(card, report)
                report.requeued.append(card.pk)
        except StateChanged as exc:
            report.left.append((card.pk, str(exc)))

    waiting = PendingEmail.objects.filter(status=CardStatus.QUEUED, updated_at__lt=cutoff).order_by("pk")
    with_a_job = cards_with_a_job() if waiting.exists() else set()
    for card in waiting:
        if card.pk in report.requeued:
            continue
        if card.code.hex in with_a_job:
            # Its job is still in Redis (waiting, scheduled for a retry after a 429, or running):
            # another one would only add to the storm.
            report.has_job.append(card.pk)
            continue
        if not apply:
            report.reenqueued.append(card.pk)
            continue
        if _enqueue_after_reconcile(card, report):
            report.reenqueued.append(card.pk)
    report.waiting = list(
        PendingEmail.objects.filter(status__in=CardStatus.IN_FLIGHT, updated_at__gte=cutoff).order_by("pk").values_list("pk", "status")
    )
    if apply:
        # Settled cards may close the live cycles that claimed them.
        settle_cycles()
    logger.info(
        "reconcile: %d re-enqueued, %d queued card(s) left to the job they still have, %d resent",
        len(report.reenqueued), len(report.has_job), len(report.requeued),
    )
    return report


def find_card_email(client, card: PendingEmail):
    """Return the card's email as GHL has it (SentMessage), or None when a complete read shows it absent.

    The one way reconcile and verify_sent look a card up: by its stored
    message id first (one request), by the contact's conversation otherwise.
    """
    return client.find_sent_email(card.ghl_contact_id, card.idempotency_key, message_id=card.ghl_message_id)


def _enqueue_after_reconcile(card: PendingEmail, report: ReconcileReport) -> bool:
    try:
        enqueue_card(card.pk, card.code.hex, again=True)
    except redis.RedisError as exc:
        report.left.append((card.pk, f"queued, but not enqueued: {redis_error(exc)}"))
        return False
    return True


@dataclass
class VerifyReport:
    date: dt.date
    checked: int = 0
    found: list[tuple[int, str]] = field(default_factory=list)
    missing: list[tuple[int, str]] = field(default_factory=list)
    unreachable: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unreachable

    def as_dict(self) -> dict:
        return {
            "date": self.date.isoformat(),
            "checked": self.checked,
            "missing": [{"pk": pk, "detail": detail} for pk, detail in self.missing],
            "unreachable": [{"pk": pk, "detail": detail} for pk, detail in self.unreachable],
        }


def verify_sent(date: dt.date | None = None) -> VerifyReport:
    """Check that every card sent on `date` (operating day) exists in its contact's GHL conversation."""
    date = date or operating_date()
    start, end = day_bounds(date)
    report = VerifyReport(date=date)
    client = None
    cards = PendingEmail.objects.filter(status=CardStatus.SENT, sent_at__gte=start, sent_at__lt=end).select_related("lead")
    for card in cards.order_by("pk"):
        report.checked += 1
        client = client or get_client()
        try:
            found = find_card_email(client, card)
        except GhlError as exc:
            report.unreachable.append((card.pk, f"{card.lead.email}: GHL unreachable ({exc})"))
            continue
        if found is None:
            report.missing.append((card.pk, f"{card.lead.email}: no message with marker {card.idempotency_key}"))
        elif card.ghl_message_id and found.message_id and found.message_id != card.ghl_message_id:
            report.missing.append(
                (card.pk, f"{card.lead.email}: GHL has message {found.message_id}, we recorded {card.ghl_message_id}")
            )
        else:
            report.found.append((card.pk, f"{card.lead.email}: message {found.message_id or card.ghl_message_id} is in GHL"))
    return report


