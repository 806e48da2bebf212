"""The job body: send one queued card through GHL, at most once.

`send_card` re-checks the card just before sending, marks it `sending` in its
own committed transaction and only then calls GHL, so that a crash between the
two leaves evidence (`sending`) for `outreach.sending.reconcile`. The re-check
is the card's eligibility verdict plus what can change after the claim: an
active hold, a suppression learnt meanwhile, the text it is about to send.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import time
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ghl.client import Contact, get_client
from compliance.identity import canonical_email
from ghl.errors import GhlError, GhlNotFound, GhlRateLimited
from outreach import eligibility
from outreach.approval import approval_changes, describe, reopen
from outreach.models import CardStatus, DispatchAttempt, Lead, PendingEmail
from outreach.sending.queue import enqueue_card, redis_error
from outreach.sending.render import render
from outreach.sending.claims import WORKER_LABEL, claim_day_of, release
from outreach.transitions import StateChanged, transition
from ramp import counters
from ramp.days import operating_tz, window_bounds, window_label
from ramp.models import Hold, RampPolicy

logger = logging.getLogger(__name__)

# A card whose GHL calls were refused in a way that is known to be safe (429,
# connection refused) is retried this many times before it is failed for a person.
MAX_SAFE_RETRIES = 20
# When GHL says 429 without Retry-After, wait for its 10-second window to pass.
DEFAULT_RETRY_SECONDS = 10.0


@dataclass
class SendOutcome:
    card_pk: int
    outcome: str
    detail: str = ""


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def bump_day(card: PendingEmail, **changes: int) -> None:
    """Add to the counters of the day the card was claimed on."""
    counters.bump(claim_day_of(card), **changes)


def _finish(attempt: DispatchAttempt, outcome: str, *, started: float, error: str = "", status: int | None = None) -> None:
    DispatchAttempt.objects.filter(pk=attempt.pk).update(
        outcome=outcome,
        finished_at=timezone.now(),
        error=error[:2000],
        http_status=status,
    )
    logger.info("Card %s attempt %s: %s in %.0f ms %s", attempt.card_id, attempt.pk, outcome, (time.monotonic() - started) * 1000, error)


def _retry_count(card: PendingEmail) -> int:
    return DispatchAttempt.objects.filter(card_id=card.pk, outcome=DispatchAttempt.Outcome.RETRY).count()


def _enqueue_retry(card: PendingEmail, delay: float) -> None:
    """Enqueue the card's job again after `delay` seconds (needs a worker --with-scheduler)."""
    delay = max(delay, 0.0) + random.uniform(0, 0.5)  # spread the retries of a 429 storm
    try:
        enqueue_card(card.pk, card.code.hex, again=True, delay=timedelta(seconds=delay))
    except redis.RedisError as exc:
        # The card stays queued; `reconcile` re-enqueues queued cards left without a job.
        logger.error("Card %s could not be re-enqueued: %s", card.pk, redis_error(exc))


def send_card(card_pk: int, *, now: dt.datetime | None = None) -> SendOutcome:
    """Send one queued card through GHL, at most once.

    1. Re-fetch the card; do nothing unless it is still `queued`.
    2. Re-check (`_recheck`): an active hold releases it back to approved;
       any part of the send changed since approval returns it to pending; any
       eligibility rule holding it back fails it. Nothing is sent in these cases.
    3. Write a DispatchAttempt. A lead with a stored GHL contact id has that
       contact read from GHL: unless it has the approved address and no Email
       DND, the card fails with the reason. A lead without one is upserted (the
       contact is stored on card and lead; Email DND fails it).
    4. Mark the card `sending` (committed), hash the whole send again as stored
       and fail it on any difference from the approval, then call send_email
       once, with the idempotency marker embedded.
    5. Record the outcome: sent; 429/connection refused -> queued again and
       retried later (safe); 5xx/timeout -> unknown for reconcile; permanent -> failed.
    """
    card = PendingEmail.objects.select_related("lead", "campaign", "step").filter(pk=card_pk).first()
    if card is None:
        return SendOutcome(card_pk, "missing")
    if card.status != CardStatus.QUEUED:
        return SendOutcome(card_pk, "skipped", f"card is {card.status}, not queued")
    now = now or timezone.now()

    skipped = _recheck(card, now=now)
    if skipped is not None:
        return skipped

    started = time.monotonic()
    attempt = DispatchAttempt.objects.create(card=card, worker=_worker_name())
    client = get_client()
    lead = card.lead

    # Two requests per send, first touches and follow-ups alike. A stored
    # contact id is trusted for nothing: GHL's contact is read and must still
    # carry the approved address without Email DND (GHL's DND can change with
    # no webhook reaching us). A first touch takes upsert's answer, which
    # matched the contact by the approved address and carries its DND.
    if lead.ghl_contact_id:
        contact_or_outcome = _read_contact(card, client, lead.ghl_contact_id, attempt=attempt, started=started)
    else:
        contact_or_outcome = _resolve(card, client, attempt=attempt, started=started)
    if isinstance(contact_or_outcome, SendOutcome):
        return contact_or_outcome
    contact_id = contact_or_outcome.id

    # `_recheck` ran before the wait on GHL; what arrived meanwhile still stops the email.
    stopped = _stopped_meanwhile(card, now=now, attempt=attempt, started=started)
    if stopped is not None:
        return stopped

    # Committed before the request leaves: a crash from here on leaves `sending`,
    # which reconcile settles by asking GHL, never by resending blindly.
    try:
        transition(
            card, CardStatus.SENDING, expected=CardStatus.QUEUED, actor_label=WORKER_LABEL,
            reason=f"Attempt {attempt.pk} on {attempt.worker}",
            ghl_contact_id=contact_id, dispatch_attempts=F("dispatch_attempts") + 1,
        )
    except StateChanged as exc:
        _finish(attempt, DispatchAttempt.Outcome.SKIPPED, started=started, error=str(exc))
        return SendOutcome(card_pk, "skipped", str(exc))

    # The copy read at the top may be older than the card: while we waited on GHL it
    # could have been released, edited, approved again and claimed anew, or its lead
    # or campaign changed. Now that it is `sending` nobody may change the card, so
    # hash the whole send again as stored, and send only what was approved.
    card = PendingEmail.objects.select_related("lead", "campaign", "step").get(pk=card_pk)
    if changes := approval_changes(card):
        reason = f"Not sent: {describe(changes)}"
        _fail(card, CardStatus.SENDING, reason)
        _finish(attempt, DispatchAttempt.Outcome.FAILED, started=started, error=reason)
        return SendOutcome(card_pk, "failed", reason)

    email = render(card)
    try:
        sent = client.send_email(
            contact_id=contact_id, subject=email.subject, html=email.html, text=email.text, email_from=email.from_line
        )
    except GhlError as exc:
        if exc.retry_safe:
            return _retry_later(card, CardStatus.SENDING, exc, attempt=attempt, started=started)
        if exc.permanent:
            _fail(card, CardStatus.SENDING, f"GHL refused the email: {exc}", count_error=True)
            _finish(attempt, DispatchAttempt.Outcome.FAILED, started=started, error=str(exc), status=exc.status)
            return SendOutcome(card_pk, "failed", str(exc))
        return _mark_unknown(card, exc, attempt=attempt, started=started)
    except Exception as exc:  # a bug after the request may have left: never guess, reconcile
        logger.exception("Unexpected error sending card %s", card_pk)
        return _mark_unknown(card, exc, attempt=attempt, started=started)

    mark_sent(card, sent, expected=CardStatus.SENDING, reason=f"Sent by attempt {attempt.pk}")
    _finish(attempt, DispatchAttempt.Outcome.SENT, started=started, status=200)
    return SendOutcome(card_pk, "sent", sent.message_id)


def _same_address(ghl_email: str, approved: str) -> bool:
    """True when GHL's contact address is the approved one, compared in canonical form (compliance.identity)."""
    try:
        return canonical_email(ghl_email) == approved
    except ValidationError:
        return False


def _read_contact(card: PendingEmail, client, contact_id: str, *, attempt: DispatchAttempt, started: float) -> Contact | SendOutcome:
    """Read the stored contact from GHL (one request); a SendOutcome (nothing sent) unless it has the approved address and no Email DND.

    Called while the card is `queued`: reading sends nothing, so a failure that may pass is retried later.
    """
    approved = card.lead.email
    try:
        contact = client.get_contact(contact_id)
    except GhlNotFound:
        return _contact_refused(card, f"Not sent: GHL has no contact {contact_id} (deleted or merged)", attempt=attempt, started=started)
    except GhlError as exc:
        if exc.permanent:
            _fail(card, CardStatus.QUEUED, f"Not sent: GHL refused to read contact {contact_id}: {exc}", count_error=True)
            _finish(attempt, DispatchAttempt.Outcome.FAILED, started=started, error=str(exc), status=exc.status)
            return SendOutcome(card.pk, "failed", str(exc))
        return _retry_later(card, CardStatus.QUEUED, exc, attempt=attempt, started=started)
    if not _same_address(contact.email, approved):
        reason = f"Not sent: GHL contact {contact_id} has the address {contact.email or '(none)'}, not the approved {approved}"
        return _contact_refused(card, reason, attempt=attempt, started=started)
    if contact.email_blocked:
        reason = f"Not sent: GHL contact {contact_id} has Email DND ({contact.email_dnd_status or 'dnd'})"
        return _contact_refused(card, reason, attempt=attempt, started=started)
    return contact


def _contact_refused(card: PendingEmail, reason: str, *, attempt: DispatchAttempt, started: float) -> SendOutcome:
    _fail(card, CardStatus.QUEUED, reason)
    _finish(attempt, DispatchAttempt.Outcome.FAILED, started=started, error=reason)
    return SendOutcome(card.pk, "failed", reason)


def _resolve(card: PendingEmail, client, *, attempt: DispatchAttempt, started: float) -> Contact | SendOutcome:
    """Upsert the card's lead as a GHL contact (one request) and store its id; a SendOutcome when the card stops here.

    Called while the card is `queued`: resolving sends nothing, so every failure is safe to retry.
    """
    lead = card.lead
    try:
        contact = client.resolve_contact(
            email=lead.email,
            first_name=lead.first_name,
            last_name=lead.last_name,
            company_name=lead.company,
            source="caio",
        )
    except GhlError as exc:
        if exc.permanent:
            _fail(card, CardStatus.QUEUED, f"GHL refused the contact: {exc}", count_error=True)
            _finish(attempt, DispatchAttempt.Outcome.FAILED, started=started, error=str(exc), status=exc.status)
            return SendOutcome(card.pk, "failed", str(exc))
        return _retry_later(card, CardStatus.QUEUED, exc, attempt=attempt, started=started)

    if contact.id != card.ghl_contact_id or contact.id != lead.ghl_contact_id:
        Lead.objects.filter(pk=lead.pk).update(ghl_contact_id=contact.id)
        PendingEmail.objects.filter(pk=card.pk).update(ghl_contact_id=contact.id)
        lead.ghl_contact_id = contact.id
    if contact.email_blocked:
        reason = f"Not sent: GHL contact {contact.id} has Email DND ({contact.email_dnd_status or 'dnd'})"
        return _contact_refused(card, reason, attempt=attempt, started=started)
    return contact


def _stopped_meanwhile(card: PendingEmail, *, now: dt.datetime, attempt: DispatchAttempt, started: float) -> SendOutcome | None:
    """Return a SendOutcome when what arrived while we waited on GHL stops this queued card, else None.

    A reply, a suppression or a new exclusion rule still stops the email
    (suppress_lead also fails queued cards; a reply or a rule added in the admin
    does not), and so does a hold raised meanwhile.
    """
    verdict = eligibility.judge_one(card, _conditions(card, now))
    if not verdict.eligible:
        reason = f"Not sent: held back: {'; '.join(verdict.lines())} (learnt while the contact was being resolved)"
        _fail(card, CardStatus.QUEUED, reason)
        _finish(attempt, DispatchAttempt.Outcome.SKIPPED, started=started, error=reason)
        return SendOutcome(card.pk, "failed", reason)
    if Hold.objects.active().exists():
        reason = "Released: a hold was raised while the contact was being resolved; nothing sent"
        release(card.pk, CardStatus.QUEUED, CardStatus.APPROVED, reason=reason)
        _finish(attempt, DispatchAttempt.Outcome.SKIPPED, started=started, error=reason)
        return SendOutcome(card.pk, "released", reason)
    return None


def _recheck(card: PendingEmail, *, now: dt.datetime) -> SendOutcome | None:
    """Return a SendOutcome when the card must not be sent now (and record why), else None.

    1. An active hold releases it back to approved; so does a job reached
       outside the sending window of the day the card was claimed on (its
       slot goes back to that day, which is over: nothing more is sent for it).
    2. Any part of the send changed since approval (outreach.approval) returns it to pending, for review.
    3. Any eligibility rule holding it back (a suppression learnt since the
       claim, an exclusion rule added, ...) fails it.
    """
    holds = list(Hold.objects.active().values_list("reason", flat=True)[:3])
    if holds:
        reason = f"Released: hold active ({'; '.join(holds)}); nothing sent"
        release(card.pk, CardStatus.QUEUED, CardStatus.APPROVED, reason=reason)
        _skip_attempt(card, reason)
        return SendOutcome(card.pk, "released", reason)
    policy = RampPolicy.get()
    claimed_on = claim_day_of(card)
    start, end = window_bounds(policy, claimed_on)
    if not start <= now < end:
        reason = (
            f"Released: reached at {now.astimezone(operating_tz()):%Y-%m-%d %H:%M}, outside the sending window of "
            f"{claimed_on} ({window_label(policy)}) it was claimed in; nothing sent"
        )
        release(card.pk, CardStatus.QUEUED, CardStatus.APPROVED, reason=reason)
        _skip_attempt(card, reason)
        return SendOutcome(card.pk, "released", reason)
    if changes := approval_changes(card):
        reopen(card, changes, actor_label=WORKER_LABEL, detail="found before sending; nothing sent")
        reason = f"{describe(changes)}: back to review; nothing sent"
        _skip_attempt(card, reason)
        return SendOutcome(card.pk, "returned", reason)
    verdict = eligibility.judge_one(card, _conditions(card, now))
    if not verdict.eligible:
        reason = "Not sent: held back: " + "; ".join(verdict.lines())
        _fail(card, CardStatus.QUEUED, reason)
        _skip_attempt(card, reason)
        return SendOutcome(card.pk, "failed", reason)
    return None


def _conditions(card: PendingEmail, now: dt.datetime) -> eligibility.Conditions:
    """The eligibility conditions a claimed card is re-checked under: every rule as of now, its age as of
    its claim (a card claimed inside its age limit may be sent by its job that day; the window bounds it)."""
    return eligibility.Conditions.current(now, stale_at=card.queued_at)


def _skip_attempt(card: PendingEmail, reason: str) -> None:
    DispatchAttempt.objects.create(
        card=card, worker=_worker_name(), outcome=DispatchAttempt.Outcome.SKIPPED, finished_at=timezone.now(), error=reason
    )


def _fail(card: PendingEmail, expected: str, reason: str, *, count_error: bool = False) -> None:
    with transaction.atomic():
        transition(card, CardStatus.FAILED, expected=expected, actor_label=WORKER_LABEL, reason=reason, last_error=reason)
        if count_error:
            bump_day(card, error_count=1)


def _retry_later(card, expected: str, exc: GhlError, *, attempt: DispatchAttempt, started: float) -> SendOutcome:
    """Put the card back to queued and enqueue it again after Retry-After: GHL did not take it."""
    retries = _retry_count(card)
    if retries + 1 >= MAX_SAFE_RETRIES:
        reason = f"Retries used up ({MAX_SAFE_RETRIES}); last error: {exc}"
        _fail(card, expected, reason, count_error=True)
        _finish(attempt, DispatchAttempt.Outcome.FAILED, started=started, error=reason, status=exc.status)
        return SendOutcome(card.pk, "failed", reason)
    delay = exc.retry_after if isinstance(exc, GhlRateLimited) and exc.retry_after else DEFAULT_RETRY_SECONDS
    if expected != CardStatus.QUEUED:
        transition(
            card, CardStatus.QUEUED, expected=expected, actor_label=WORKER_LABEL,
            reason=f"GHL did not take it ({exc}); retry in {delay:.1f} s", last_error=str(exc)[:2000],
        )
    _finish(attempt, DispatchAttempt.Outcome.RETRY, started=started, error=str(exc), status=exc.status)
    _enqueue_retry(card, delay)
    return SendOutcome(card.pk, "retry", str(exc))


def _mark_unknown(card, exc: Exception, *, attempt: DispatchAttempt, started: float) -> SendOutcome:
    reason = f"Outcome unknown ({exc}); reconcile will ask GHL before any resend"
    with transaction.atomic():
        transition(card, CardStatus.UNKNOWN, expected=CardStatus.SENDING, actor_label=WORKER_LABEL, reason=reason, last_error=str(exc)[:2000])
        bump_day(card, error_count=1)
    _finish(attempt, DispatchAttempt.Outcome.UNKNOWN, started=started, error=str(exc), status=getattr(exc, "status", None))
    return SendOutcome(card.pk, "unknown", str(exc))


def mark_sent(card: PendingEmail, sent, *, expected: str, reason: str, actor_label: str = WORKER_LABEL) -> None:
    with transaction.atomic():
        transition(
            card, CardStatus.SENT, expected=expected, actor_label=actor_label, reason=reason,
            sent_at=timezone.now(),
            ghl_conversation_id=sent.conversation_id or "",
            ghl_message_id=sent.message_id or "",
            ghl_email_message_id=sent.email_message_id or "",
            last_error="",
        )
        bump_day(card, sent_count=1)


