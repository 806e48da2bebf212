"""GHL webhook deliveries: store durably, then apply each event once.

GHL redelivers only when we answer 429 and drops the event on any other
error, so the view answers 200 only after the delivery is committed, and 429
when it cannot store it. Applying the event is a separate step: if it fails,
the stored delivery stays unprocessed and `manage.py process_webhooks` tries
again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from ghl.errors import GhlSignatureError
from ghl.webhooks import ContactDndEvent, EmailStatsEvent, MessageEvent, WebhookEvent, parse_event, verify_delivery
from outreach.models import EmailEvent, Enrollment, Lead, PendingEmail, WebhookDelivery
from outreach.unsubscribe import suppress_lead

logger = logging.getLogger(__name__)

Kind = EmailEvent.Kind

# LCEmailStats (Mailgun) events we count, and the suppression some of them imply.
STATS_KINDS = {
    "delivered": Kind.DELIVERED,
    "opened": Kind.OPENED,
    "clicked": Kind.CLICKED,
    "complained": Kind.COMPLAINED,
    "unsubscribed": Kind.UNSUBSCRIBED,
}
SUPPRESSING_KINDS = {Kind.BOUNCED: "bounced", Kind.COMPLAINED: "complained", Kind.UNSUBSCRIBED: "unsubscribed"}
MEETING_TYPES = {"AppointmentCreate"}


@dataclass
class Receipt:
    """What the view answers: HTTP status and a short reason."""

    status: int
    detail: str
    delivery: WebhookDelivery | None = None


def receive(body: bytes, headers) -> Receipt:
    """Verify, store and apply one delivery.

    1. Verify signature and freshness: a forged or stale delivery is refused
       with 401 and nothing is stored.
    2. Store it under its dedupe key; a repeat answers 200 and changes nothing.
       If storing fails, answer 429 so GHL delivers it again.
    3. Apply it. A failure here is logged and kept for process_webhooks; GHL
       still gets its 200 because the delivery is safe with us.
    """
    try:
        event = verify_delivery(
            body,
            headers,
            ed25519_public_key=settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY or None,
            rsa_public_key=settings.GHL_WEBHOOK_RSA_PUBLIC_KEY or None,
            max_age_seconds=settings.GHL_WEBHOOK_MAX_AGE_SECONDS,
        )
    except GhlSignatureError as exc:
        logger.warning("Refused a GHL webhook delivery: %s", exc)
        return Receipt(401, f"refused: {exc}")
    if not event.dedupe_key:
        return Receipt(400, "refused: the delivery has no webhookId")

    try:
        with transaction.atomic():
            delivery, created = WebhookDelivery.objects.get_or_create(
                dedupe_key=event.dedupe_key[:128],
                defaults={"event_type": event.type[:64], "webhook_id": event.webhook_id[:128], "payload": event.payload},
            )
    except (DatabaseError, IntegrityError):
        logger.exception("Could not store a GHL webhook delivery; asking GHL to redeliver")
        return Receipt(429, "not stored; deliver again later")
    if not created:
        return Receipt(200, "duplicate: already received", delivery)

    try:
        process(delivery)
    except Exception:  # kept for process_webhooks; GHL must not see a 5xx
        logger.exception("Applying webhook delivery %s failed; it will be retried", delivery.pk)
    return Receipt(200, "stored", delivery)


def process(delivery: WebhookDelivery) -> str:
    """Apply a stored delivery once; return what it did."""
    try:
        with transaction.atomic():
            claimed = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk, processed_at__isnull=True).first()
            if claimed is None:
                return "already processed"
            outcome = apply_event(parse_event(claimed.payload), claimed)
            WebhookDelivery.objects.filter(pk=claimed.pk).update(processed_at=timezone.now(), outcome=outcome[:255], error="")
    except Exception as exc:
        # The event's own changes rolled back; keep the reason on the delivery for the retry.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(error=f"{exc.__class__.__name__}: {exc}"[:2000])
        raise
    return outcome


def process_pending(limit: int = 500) -> tuple[int, int]:
    """Retry deliveries whose processing failed; return (processed, still failing)."""
    done = failed = 0
    for delivery in WebhookDelivery.objects.filter(processed_at__isnull=True).order_by("received_at")[:limit]:
        try:
            process(delivery)
            done += 1
        except Exception:
            logger.exception("Webhook delivery %s still fails", delivery.pk)
            failed += 1
    return done, failed


def apply_event(event: WebhookEvent, delivery: WebhookDelivery) -> str:
    """Turn one GHL event into lead state and KPI events."""
    if isinstance(event, EmailStatsEvent):
        return _apply_email_stats(event, delivery)
    if isinstance(event, MessageEvent):
        if event.direction == "inbound" and event.message_type.lower() in ("email", "type_email"):
            return _apply_reply(event, delivery)
        return "ignored: outbound message echo"
    if isinstance(event, ContactDndEvent):
        if not event.email_blocked:
            return "ignored: email not blocked"
        lead = _lead_for(contact_id=event.contact_id, email=event.email)
        if lead is None:
            return "ignored: unknown contact"
        _record(lead, None, Kind.UNSUBSCRIBED, delivery)
        suppress_lead(lead, reason="unsubscribed", source="ghl:ContactDndUpdate")
        return f"lead {lead.pk} unsubscribed"
    if event.type in MEETING_TYPES:
        payload = event.payload.get("appointment") or event.payload
        lead = _lead_for(contact_id=str(payload.get("contactId") or ""), email=str(payload.get("email") or ""))
        if lead is None:
            return "ignored: unknown contact"
        _record(lead, _last_sent_card(lead), Kind.MEETING, delivery)
        return f"lead {lead.pk} booked a meeting"
    return f"ignored: {event.type or 'untyped'} event"


def _apply_email_stats(event: EmailStatsEvent, delivery: WebhookDelivery) -> str:
    card = None
    if event.email_message_id:
        card = PendingEmail.objects.select_related("lead").filter(ghl_email_message_id=event.email_message_id).first()
    lead = card.lead if card else _lead_for(email=event.recipient)
    if lead is None:
        return "ignored: unknown recipient"
    if event.is_hard_bounce:
        kind = Kind.BOUNCED
    elif event.event in STATS_KINDS:
        kind = STATS_KINDS[event.event]
    else:
        return f"ignored: {event.event or 'empty'} event"
    _record(lead, card, kind, delivery)
    if kind in SUPPRESSING_KINDS:
        suppress_lead(lead, reason=SUPPRESSING_KINDS[kind], source=f"ghl:LCEmailStats:{event.event}")
        return f"lead {lead.pk} {SUPPRESSING_KINDS[kind]}"
    return f"lead {lead.pk} {kind}"


def _apply_reply(event: MessageEvent, delivery: WebhookDelivery) -> str:
    lead = _lead_for(contact_id=event.contact_id, email=_address(event.sender))
    if lead is None:
        return "ignored: reply from an unknown contact"
    now = timezone.now()
    Lead.objects.filter(pk=lead.pk, replied_at__isnull=True).update(replied_at=now, updated_at=now)
    # A reply ends the sequence: no further step goes to someone talking to us.
    Enrollment.objects.filter(lead=lead, status=Enrollment.Status.ACTIVE).update(
        status=Enrollment.Status.STOPPED, stop_reason="replied", stopped_at=now
    )
    _record(lead, _last_sent_card(lead), Kind.REPLIED, delivery)
    return f"lead {lead.pk} replied"


def _record(lead: Lead, card: PendingEmail | None, kind: str, delivery: WebhookDelivery) -> None:
    EmailEvent.objects.create(lead=lead, card=card, kind=kind, delivery=delivery, occurred_at=timezone.now())


def _lead_for(*, contact_id: str = "", email: str = "") -> Lead | None:
    if contact_id:
        lead = Lead.objects.filter(ghl_contact_id=contact_id).first()
        if lead is not None:
            return lead
    if email:
        return Lead.objects.with_email(email).first()
    return None


def _last_sent_card(lead: Lead) -> PendingEmail | None:
    return lead.cards.filter(sent_at__isnull=False).order_by("-sent_at").first()


def _address(sender: str) -> str:
    """Return the address of 'Name <a@b>' or 'a@b'."""
    if "<" in sender and ">" in sender:
        return sender[sender.index("<") + 1 : sender.index(">")]
    return sender
