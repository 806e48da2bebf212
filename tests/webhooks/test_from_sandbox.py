"""The sandbox's own deliveries, over HTTP to the running app, in the shapes GHL documents."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from outreach.models import CardStatus, EmailEvent, Reply, WebhookDelivery
from tests.factories import make_card, make_lead

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _seeded(transactional_db):
    """Put back the rejection tags and roles that migrations seed: transactional tests flush them."""
    importlib.import_module("outreach.migrations.0002_seed_tags_and_roles").seed(apps, None)


@pytest.fixture
def wired(ghl_sandbox, live_server):
    """A lead with a card GHL really sent (in the sandbox), and the sandbox delivering to this app."""
    ghl_sandbox.configure(webhook_url=f"{live_server.url}/webhooks/ghl/", auto_events=[])
    lead = make_lead(email="ann@example.com")
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email=lead.email)
    sent = client.send_email(contact_id=contact.id, subject="Hello", html="<p>hi</p>", text="hi")
    card = make_card(
        status=CardStatus.SENT,
        lead=lead,
        sent_at=timezone.now(),
        ghl_contact_id=contact.id,
        ghl_conversation_id=sent.conversation_id,
        ghl_message_id=sent.message_id,
        ghl_email_message_id=sent.email_message_id,
    )
    type(lead).objects.filter(pk=lead.pk).update(ghl_contact_id=contact.id)
    return ghl_sandbox, card, sent


def test_an_unstamped_hard_bounce_told_only_by_documented_fields_suppresses_the_lead(wired):
    sandbox, card, sent = wired
    # No timestamp/webhookId, no lc-operations, no severity: only what GHL documents.
    result = sandbox.trigger("failed", email_message_id=sent.email_message_id, unstamped=True, with_severity=False)

    assert [d["final_status"] for d in result["deliveries"]] == [200]
    payload = result["payloads"][0]
    assert "timestamp" not in payload and "webhookId" not in payload
    assert "lc-operations" not in payload["webhookPayload"] and "severity" not in payload["webhookPayload"]
    event = EmailEvent.objects.get()
    assert (event.kind, event.card_id) == ("bounced", card.pk)
    card.lead.refresh_from_db()
    assert card.lead.bounced_at is not None
    assert WebhookDelivery.objects.get().stamped is False


def test_the_same_unstamped_delivery_twice_applies_once(wired):
    sandbox, card, sent = wired
    (payload,) = sandbox.sandbox.build_event({"event": "opened", "email_message_id": sent.email_message_id})
    for key in ("timestamp", "webhookId", "appId", "versionId"):
        payload.pop(key)

    first, second = sandbox.sandbox.deliver(payload), sandbox.sandbox.deliver(payload)

    assert (first["final_status"], second["final_status"]) == (200, 200)
    assert EmailEvent.objects.filter(kind="opened", card=card).count() == 1
    assert WebhookDelivery.objects.get().dedupe_key.startswith("lcemailstats:")


def test_a_stamped_reply_is_recorded_with_its_text_on_the_card(wired):
    sandbox, card, sent = wired
    sandbox.trigger("InboundMessage", message_id=sent.message_id, body="<p>Yes, let us talk.</p>")

    reply = Reply.objects.get()
    assert (reply.lead_id, reply.card_id, reply.text) == (card.lead_id, card.pk, "<p>Yes, let us talk.</p>")
    assert WebhookDelivery.objects.get().stamped is True
