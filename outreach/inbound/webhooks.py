"""GHL webhook deliveries: store durably, then apply each event once.

GHL redelivers only when we answer 429 and drops the event on any other
error, so the view answers 200 only after the delivery is committed, and 429
when it cannot store it. A delivery we refuse (signature, freshness, another
location) is recorded as a WebhookRefusal for operators, never applied.
Applying a stored event is a separate step: if it fails, the delivery stays
unprocessed and `manage.py process_webhooks` tries again, up to
WebhookDelivery.MAX_ATTEMPTS times in all; then it is quarantined with its
error, shown in the admin, and no longer retried.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.db.models import F
from django.utils import timezone

from ghl.errors import GhlSignatureError
from ghl.webhooks import (
    AppointmentEvent,
    Bounce,
    ContactDndEvent,
    ContactUpdateEvent,
    EmailStatsEvent,
    MessageEvent,
    WebhookEvent,
    parse_event,
    verify_delivery,
)
from compliance.identity import canonical_email
from outreach.approval import reopen, standing_approvals
from outreach.models import EmailEvent, Lead, PendingEmail, Reply, WebhookDelivery, WebhookRefusal
from outreach.inbound import replies
from outreach.inbound.suppression import suppress_lead

logger = logging.getLogger(__name__)


# LCEmailStats (Mailgun) events and what each counts as; "failed" is read by its bounce class.
STATS_KINDS = {
    "delivered": EmailEvent.Kind.DELIVERED,
    "opened": EmailEvent.Kind.OPENED,
    "clicked": EmailEvent.Kind.CLICKED,
    "complained": EmailEvent.Kind.COMPLAINED,
    "unsubscribed": EmailEvent.Kind.UNSUBSCRIBED,
}
BOUNCE_KINDS = {Bounce.HARD: EmailEvent.Kind.BOUNCED, Bounce.SOFT: EmailEvent.Kind.SOFT_BOUNCED, Bounce.UNKNOWN: EmailEvent.Kind.UNCLASSIFIED}
# Mailgun's "accepted" says the email was queued for delivery, "stored" that a copy was kept: nothing to count.
QUIET_STATS_EVENTS = {"accepted", "stored"}
SUPPRESSING_KINDS = {EmailEvent.Kind.BOUNCED: "bounced", EmailEvent.Kind.COMPLAINED: "complained", EmailEvent.Kind.UNSUBSCRIBED: "unsubscribed"}
# Request headers never written to a refusal record (credentials a proxy or a caller may add).
SECRET_HEADER_WORDS = ("authorization", "cookie", "token", "secret", "api-key", "apikey", "password")


@dataclass
class Receipt:
    """What the view answers: HTTP status and a short reason."""

    status: int
    detail: str
    delivery: WebhookDelivery | None = None


def receive(body: bytes, headers: Mapping[str, str]) -> Receipt:
    """Verify, store and apply one delivery.

    1. Verify signature and freshness: a forged, stale or malformed delivery is
       refused with 401, recorded as a refusal, and nothing else is stored. A
       signed delivery without timestamp/webhookId (GHL's documented shape) is
       accepted as unstamped.
    2. Refuse (403, recorded) a delivery for a location (or app) that is not
       ours: it must never touch our leads, even by email address.
    3. Store it under its dedupe key; a repeat answers 200 and changes nothing.
       If storing fails, answer 429 so GHL delivers it again.
    4. Apply it. A failure here is kept for process_webhooks; GHL still gets
       its 200 because the delivery is safe with us.
    """
    try:
        event = verify_delivery(
            body,
            headers,
            ed25519_public_key=settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY or None,
            rsa_public_key=settings.GHL_WEBHOOK_RSA_PUBLIC_KEY or None,
            max_age_seconds=settings.GHL_WEBHOOK_MAX_AGE_SECONDS,
            require_timestamp=False,
        )
    except GhlSignatureError as exc:
        logger.warning("Refused a GHL webhook delivery: %s", exc)
        record_refusal(WebhookRefusal.Reason.SIGNATURE, str(exc), body, headers)
        return Receipt(401, f"refused: {exc}")
    detail = _not_ours(event)
    if detail:
        logger.warning("Refused a GHL webhook delivery: %s", detail)
        record_refusal(WebhookRefusal.Reason.LOCATION, detail, body, headers, event=event)
        return Receipt(403, f"refused: {detail}")

    try:
        # Stored and applied in one transaction (one commit, one hold of SQLite's
        # write lock): the apply runs in a savepoint, so an event that fails to
        # apply is still committed, with its error, for process_webhooks.
        target = _resolve_ahead(event)
        with _write_turn(), transaction.atomic():
            delivery = store_delivery(event)
            failure = None if delivery is None else _apply_stored(delivery, event, target)[1]
    except DatabaseError:
        logger.exception("Could not store a GHL webhook delivery; asking GHL to redeliver")
        return Receipt(429, "not stored; deliver again later")
    if delivery is None:
        return Receipt(200, "duplicate: already received")
    if failure is not None:  # kept for process_webhooks; GHL must not see a 5xx
        logger.error("Applying webhook delivery %s failed; it will be retried", delivery.pk, exc_info=failure)
    return Receipt(200, "stored", delivery)


_turn_lock = threading.Lock()
# Lock file descriptors by (process, path): a descriptor inherited through a fork
# would share its flock with the parent, so a child opens its own.
_turn_files: dict[tuple[int, str], int] = {}


@contextlib.contextmanager
def _write_turn() -> Iterator[None]:
    """On SQLite, queue for the database's one writer slot before the transaction starts.

    SQLite lets one connection write at a time; a connection that finds the
    slot taken polls in its busy handler, sleeping 1, 2, 5, 10... up to 100 ms
    between tries, so under a burst of deliveries a waiter keeps losing the
    race and its answer takes hundreds of milliseconds. Deliveries block here
    instead, on locks that wake a waiter as soon as they are released: a lock
    for the threads of this process, then an flock on a file beside the
    database for the processes sharing it. PostgreSQL (row locks) and an
    in-memory database (one process) skip it.
    """
    connection = connections[router.db_for_write(WebhookDelivery)]
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        yield
        return
    path = f"{connection.settings_dict['NAME']}-webhooks.lock"
    with _turn_lock:
        key = (os.getpid(), path)
        fd = _turn_files.get(key)
        if fd is None:
            fd = _turn_files[key] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def store_delivery(event: WebhookEvent) -> WebhookDelivery | None:
    """Insert the delivery under its dedupe key; return None when that key is already stored.

    One statement (INSERT ... ON CONFLICT DO NOTHING RETURNING, which SQLite
    and PostgreSQL both speak) settles "new or repeat" atomically, where a
    look-up then an insert would cost two and race between them.
    """
    delivery = WebhookDelivery(
        dedupe_key=event.dedupe_key,
        event_type=event.type[:64],
        # For display; a longer id is in the key as its hash.
        webhook_id=event.webhook_id if len(event.webhook_id) <= 128 else "",
        stamped=event.stamped,
        payload=event.payload,
    )
    connection = connections[router.db_for_write(WebhookDelivery)]
    meta = WebhookDelivery._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote(meta.get_field('dedupe_key').column)}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    params = [f.get_db_prep_save(getattr(delivery, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    delivery.pk = row[0]
    delivery._state.adding = False
    delivery._state.db = connection.alias
    return delivery


def _not_ours(event: WebhookEvent) -> str:
    """Return why the delivery is for someone else, or "" when it is ours.

    The location must be ours. The app is checked only when GHL_APP_ID is set
    and the delivery names one: GHL's event examples carry no appId, and
    refusing those would lose real events (the signature and the location
    already tie the delivery to GHL and to us).
    """
    if event.location_id != settings.GHL_LOCATION_ID:
        return f"location {event.location_id or '(none)'!r} is not ours"
    app_id = str(event.payload.get("appId") or "")
    if settings.GHL_APP_ID and app_id and app_id != settings.GHL_APP_ID:
        return f"app {app_id!r} is not ours"
    return ""


def record_refusal(
    reason: str, detail: str, body: bytes, headers: Mapping[str, str], *, event: WebhookEvent | None = None
) -> WebhookRefusal | None:
    """Keep a refused delivery's reason, safe headers (bounded), size and body hash; never fail the answer over it.

    Anyone can post to the webhook URL, so what one refusal stores is bounded
    (`kept_headers`) and so is how many a minute store rows: past
    WEBHOOK_REFUSALS_PER_MINUTE, a refusal only adds one to the `dropped`
    counter of that minute's last row.
    """
    now = timezone.now()
    minute = now.replace(second=0, microsecond=0)
    try:
        this_minute = WebhookRefusal.objects.filter(received_at__gte=minute)
        if this_minute.count() >= settings.WEBHOOK_REFUSALS_PER_MINUTE:
            last = this_minute.order_by("-received_at", "-pk").values_list("pk", flat=True).first()
            WebhookRefusal.objects.filter(pk=last).update(dropped=F("dropped") + 1)
            return None
        return WebhookRefusal.objects.create(
            received_at=now,
            reason=reason,
            detail=detail[:500],
            event_type=(event.type if event else "")[:64],
            location_id=(event.location_id if event else "")[:64],
            headers=kept_headers(headers),
            size=len(body),
            body_sha256=hashlib.sha256(body).hexdigest(),
        )
    except DatabaseError:
        logger.exception("Could not record a refused GHL webhook delivery")
        return None


# What one refusal keeps of its headers: enough to tell GHL from a stranger, never a flood's worth.
MAX_KEPT_HEADERS = 20
MAX_HEADER_NAME = 64
MAX_HEADER_VALUE = 200
MAX_HEADERS_TOTAL = 2000


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return the headers a refusal keeps: none that may carry a secret, each cut short, at most a couple of KB in all."""
    kept: dict[str, str] = {}
    total = 0
    left_out = 0
    for name, value in headers.items():
        if any(word in name.lower() for word in SECRET_HEADER_WORDS):
            continue
        name, value = str(name)[:MAX_HEADER_NAME], str(value)[:MAX_HEADER_VALUE]
        if len(kept) >= MAX_KEPT_HEADERS or total + len(name) + len(value) > MAX_HEADERS_TOTAL:
            left_out += 1
            continue
        kept[name] = value
        total += len(name) + len(value)
    if left_out:
        kept["(not kept)"] = f"{left_out} more header(s)"
    return kept


def process(delivery: WebhookDelivery) -> str:
    """Apply a stored delivery once; return what it did, or raise (counting the attempt, quarantining the last)."""
    with transaction.atomic():
        claimed = (
            WebhookDelivery.objects.select_for_update()
            .filter(pk=delivery.pk, processed_at__isnull=True, quarantined_at__isnull=True)
            .first()
        )
        if claimed is None:
            return "already processed"
        outcome, failure = _apply_stored(claimed)
    if failure is not None:
        raise failure
    return outcome


def _apply_stored(
    delivery: WebhookDelivery, event: WebhookEvent | None = None, target: Target | None = None
) -> tuple[str, Exception | None]:
    """Apply `delivery` inside the caller's transaction and mark it processed; return (outcome, failure).

    The event's changes run in a savepoint: when they fail, only they roll
    back, and the attempt and its error are written in the caller's
    transaction (quarantining the delivery at its last attempt). The failure
    is returned, not raised, so the caller commits that record before it
    reports or re-raises it.
    """
    try:
        with transaction.atomic():
            if event is None:
                event = parse_event(delivery.payload)
            outcome = apply_event(event, delivery, target) if target is not None else apply_event(event, delivery)
    except Exception as exc:
        error = f"{exc.__class__.__name__}: {exc}"[:2000]
        WebhookDelivery.objects.filter(pk=delivery.pk).update(error=error, attempts=F("attempts") + 1)
        WebhookDelivery.objects.filter(
            pk=delivery.pk, attempts__gte=WebhookDelivery.MAX_ATTEMPTS, quarantined_at__isnull=True
        ).update(quarantined_at=timezone.now())
        return "", exc
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        processed_at=timezone.now(), outcome=outcome[:255], error="", attempts=F("attempts") + 1
    )
    return outcome, None


@dataclass
class PendingRun:
    """What one process_pending run did."""

    applied: int = 0
    # Failed again and will be tried on a later run.
    failing: list[tuple[int, str]] = field(default_factory=list)
    # Failed for the last time in this run: now quarantined.
    quarantined: list[tuple[int, str]] = field(default_factory=list)


def process_pending(limit: int = 500) -> PendingRun:
    """Retry stored deliveries not applied yet (quarantined ones are left for a person)."""
    run = PendingRun()
    waiting = WebhookDelivery.objects.filter(processed_at__isnull=True, quarantined_at__isnull=True)
    for delivery in waiting.order_by("received_at")[:limit]:
        try:
            process(delivery)
            run.applied += 1
        except Exception:
            logger.exception("Webhook delivery %s still fails", delivery.pk)
            delivery.refresh_from_db(fields=["attempts", "error", "quarantined_at"])
            target = run.quarantined if delivery.quarantined_at else run.failing
            target.append((delivery.pk, delivery.error))
    return run


def webhook_figures() -> dict[str, int]:
    """Counts an operator watches: unstamped deliveries, refusals, quarantined and waiting retries."""
    deliveries = WebhookDelivery.objects
    return {
        "received": deliveries.count(),
        "unstamped": deliveries.filter(stamped=False).count(),
        "refused": WebhookRefusal.objects.count(),
        "quarantined": deliveries.filter(quarantined_at__isnull=False, processed_at__isnull=True).count(),
        "waiting": deliveries.filter(processed_at__isnull=True, quarantined_at__isnull=True).count(),
    }


@dataclass(frozen=True)
class Target:
    """Whom an event is about, as ids: its lead (None when unknown) and the card it concerns."""

    lead_id: int | None = None
    card_id: int | None = None


def resolve(event: WebhookEvent) -> Target:
    """Look up the lead and card an event is about (reads only).

    `receive` calls it before its write turn, so the database's single
    writer slot is held only for the writes. A lead deleted in between fails
    the commit on its foreign key (checked at commit): nothing is stored and
    GHL is asked (429) to deliver again, when the event finds no lead.
    """
    if isinstance(event, EmailStatsEvent):
        if event.event in QUIET_STATS_EVENTS:
            return Target()
        card = _card_for_email(event)
        return Target(lead_id=card[1], card_id=card[0]) if card else Target(lead_id=_lead_id_for(email=event.recipient))
    if isinstance(event, MessageEvent) and event.type == "InboundMessage":
        lead_id = _lead_id_for(contact_id=event.contact_id, email=_address(event.sender))
        return Target(lead_id, _card_replied_to(lead_id, event) if lead_id is not None else None)
    if isinstance(event, ContactDndEvent) and event.email_blocked:
        return Target(lead_id=_lead_id_for(contact_id=event.contact_id, email=event.email))
    if isinstance(event, AppointmentEvent):
        lead_id = _lead_id_for(contact_id=event.contact_id)
        return Target(lead_id, _last_sent_card_id(lead_id) if lead_id is not None else None)
    if isinstance(event, ContactUpdateEvent):
        # Only the stored contact id: the contact's address is what may have changed.
        return Target(lead_id=_lead_id_for(contact_id=event.contact_id))
    return Target()


def _resolve_ahead(event: WebhookEvent) -> Target | None:
    """`resolve(event)`, or None when it fails: the apply then looks again, where a failure is kept for a retry."""
    try:
        return resolve(event)
    except Exception:
        logger.warning("Looking up the lead of a %s delivery failed; the apply will look again", event.type, exc_info=True)
        return None


def apply_event(event: WebhookEvent, delivery: WebhookDelivery, target: Target | None = None) -> str:
    """Turn one GHL event into lead state, KPI events and replies; `target` is `resolve(event)`, looked up when not given.

    Leads and cards are handled by id (a model instance is built only for a
    suppression, which needs the whole lead): building and reading full rows
    of wide tables was most of the cost of an event.
    """
    target = target if target is not None else resolve(event)
    if isinstance(event, EmailStatsEvent):
        return _apply_email_stats(event, delivery, target)
    if isinstance(event, MessageEvent):
        if event.type == "InboundMessage":
            return _apply_reply(event, delivery, target)
        return "ignored: outbound message echo"
    if isinstance(event, ContactDndEvent):
        if not event.email_blocked:
            return "ignored: email not blocked"
        if target.lead_id is None:
            return "ignored: unknown contact"
        _record(target.lead_id, None, EmailEvent.Kind.UNSUBSCRIBED, delivery)
        suppress_lead(
            Lead.objects.get(pk=target.lead_id), reason="unsubscribed", source="ghl:ContactDndUpdate", landed=_landed(delivery, "DND")
        )
        return f"lead {target.lead_id} unsubscribed"
    if isinstance(event, AppointmentEvent):
        if target.lead_id is None:
            return "ignored: unknown contact"
        _record(target.lead_id, target.card_id, EmailEvent.Kind.MEETING, delivery)
        return f"lead {target.lead_id} booked a meeting"
    if isinstance(event, ContactUpdateEvent):
        if target.lead_id is None:
            return "ignored: unknown contact"
        return _apply_contact_update(event, target.lead_id)
    return f"ignored: {event.type or 'untyped'} event"


def _apply_contact_update(event: ContactUpdateEvent, lead_id: int) -> str:
    """A contact whose address changed in GHL is no longer the recipient the lead's approved cards name: back to review.

    GHL sends to the contact, so an email approved to the lead's address would
    reach the new one. The lead keeps its address; the send job refuses a
    contact whose address is not the approved one.
    """
    lead = Lead.objects.get(pk=lead_id)
    try:
        same = canonical_email(event.email) == lead.email
    except ValidationError:
        same = False
    if same:
        return f"lead {lead_id}: address unchanged"
    cards = standing_approvals(PendingEmail.objects.filter(lead_id=lead_id))
    detail = f"GHL contact {event.contact_id} now has the address {event.email or '(none)'}"
    reopened = [card.pk for card in cards if reopen(card, ["recipient"], actor_label="ghl:ContactUpdate", detail=detail)]
    return f"lead {lead_id}: {detail}; {len(reopened)} approved card(s) back to review"


def _card_for_email(event: EmailStatsEvent) -> tuple[int, int] | None:
    """Return (card id, lead id) of the email the event names, trying its ids in order, or None."""
    candidates = event.email_message_ids
    if not candidates:
        return None
    found: dict[str, tuple[int, int]] = {}
    rows = PendingEmail.objects.filter(ghl_email_message_id__in=candidates).order_by("created_at", "pk")
    for card_id, lead_id, message_id in rows.values_list("pk", "lead_id", "ghl_email_message_id"):
        found.setdefault(message_id, (card_id, lead_id))
    return next((found[candidate] for candidate in candidates if candidate in found), None)


def _apply_email_stats(event: EmailStatsEvent, delivery: WebhookDelivery, target: Target) -> str:
    if event.event in QUIET_STATS_EVENTS:
        return f"ignored: {event.event} event"
    lead_id, card_id = target.lead_id, target.card_id
    if lead_id is None:
        return "ignored: unknown recipient"
    detail = ""
    if event.event == "failed":
        kind = BOUNCE_KINDS[event.bounce]
        detail = " ".join(
            part
            for part in (
                "failed",
                f"severity={event.severity}" if event.severity else "",
                f"code={event.delivery_code}" if event.delivery_code is not None else "",
                f"enhanced={event.enhanced_code}" if event.enhanced_code else "",
            )
            if part
        )
    elif event.event in STATS_KINDS:
        kind = STATS_KINDS[event.event]
    else:
        # An event name we do not know: kept and counted, not read as anything.
        kind, detail = EmailEvent.Kind.UNCLASSIFIED, f"event {event.event or '(empty)'}"
    _record(lead_id, card_id, kind, delivery, detail=detail)
    if kind in SUPPRESSING_KINDS:
        suppress_lead(
            Lead.objects.get(pk=lead_id),
            reason=SUPPRESSING_KINDS[kind],
            source=f"ghl:LCEmailStats:{event.event}",
            landed=_landed(delivery, SUPPRESSING_KINDS[kind]),
        )
        return f"lead {lead_id} {SUPPRESSING_KINDS[kind]}"
    return f"lead {lead_id} {kind}" + (f" ({detail})" if detail else "")


def _apply_reply(event: MessageEvent, delivery: WebhookDelivery, target: Target) -> str:
    lead_id = target.lead_id
    if lead_id is None:
        return "ignored: reply from an unknown contact"
    ghl_id = (event.message_id or event.email_message_id or delivery.dedupe_key)[:128]
    reply = Reply(
        lead_id=lead_id,
        card_id=target.card_id,
        received_at=event.date_added or timezone.now(),
        channel=event.message_type[:32],
        subject=event.subject[:500],
        text=event.body,
        ghl_message_id=ghl_id,
        delivery=delivery,
    )
    try:
        # Classified, stored and applied here, before GHL gets its answer: a STOP suppresses the lead now.
        with transaction.atomic():
            verdict = replies.record_inbound(reply)
    except IntegrityError:
        # The same message reached us in another delivery: it counts once. Anything else is a failure to retry.
        existing = Reply.objects.filter(ghl_message_id=ghl_id).values_list("pk", flat=True).first()
        if existing is None:
            raise
        return f"duplicate reply {existing}"
    if verdict.classification == Reply.Classification.OPT_OUT:
        return f"lead {lead_id} unsubscribed by reply {reply.pk} ({verdict.reason})"
    return f"lead {lead_id} replied (reply {reply.pk}: {verdict.classification})"


def _card_replied_to(lead_id: int, event: MessageEvent) -> int | None:
    """Return the id of the sent card this message answers: same email thread, else same conversation, else the latest."""
    sent = list(
        PendingEmail.objects.filter(lead_id=lead_id, sent_at__isnull=False)
        .order_by("-sent_at")
        .values_list("pk", "ghl_email_message_id", "ghl_conversation_id")
    )
    if event.thread_id:
        for card_id, message_id, _ in sent:
            if message_id == event.thread_id:
                return card_id
    if event.conversation_id:
        for card_id, _, conversation_id in sent:
            if conversation_id == event.conversation_id:
                return card_id
    return sent[0][0] if sent else None


def _landed(delivery: WebhookDelivery, what: str) -> str:
    """How a hold raised by this delivery names it."""
    return f"GHL webhook delivery {delivery.pk} ({what})"


def _record(lead_id: int, card_id: int | None, kind: str, delivery: WebhookDelivery, *, detail: str = "") -> None:
    EmailEvent.objects.create(
        lead_id=lead_id, card_id=card_id, kind=kind, delivery=delivery, occurred_at=timezone.now(), detail=detail[:255]
    )


def _lead_id_for(*, contact_id: str = "", email: str = "") -> int | None:
    if contact_id:
        lead_id = Lead.objects.filter(ghl_contact_id=contact_id).values_list("pk", flat=True).first()
        if lead_id is not None:
            return lead_id
    if email:
        return Lead.objects.with_email(email).values_list("pk", flat=True).first()
    return None


def _last_sent_card_id(lead_id: int) -> int | None:
    return (
        PendingEmail.objects.filter(lead_id=lead_id, sent_at__isnull=False)
        .order_by("-sent_at")
        .values_list("pk", flat=True)
        .first()
    )


def _address(sender: str) -> str:
    """Return the address of 'Name <a@b>' or 'a@b'."""
    if "<" in sender and ">" in sender:
        return sender[sender.index("<") + 1 : sender.index(">")]
    return sender
