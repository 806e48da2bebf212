"""GHL webhook deliveries: verified, stored before the 200, applied once."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError
from django.utils import timezone

from ghl.webhooks import WebhookSigner, compact_json, public_key_pem
from outreach.models import CardStatus, EmailEvent, Enrollment, Lead, WebhookDelivery
from tests.factories import make_card

KEY = Ed25519PrivateKey.generate()
SIGNER = WebhookSigner(KEY)
URL = "/webhooks/ghl/"


@pytest.fixture(autouse=True)
def webhook_key(settings):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = public_key_pem(KEY)
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = ""


def envelope(event_type: str, webhook_id: str, **fields) -> dict:
    return {
        "type": event_type,
        "locationId": settings.GHL_LOCATION_ID,
        "webhookId": webhook_id,
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
        **fields,
    }


def stats(event: str, email_message_id: str, webhook_id: str, **extra) -> dict:
    return envelope(
        "LCEmailStats",
        webhook_id,
        webhookPayload={"event": event, "id": f"evt-{webhook_id}", "recipient": "x@y.example", "lc-operations": {"email_message_id": email_message_id}, **extra},
    )


def post(client, payload: dict, *, signer: WebhookSigner = SIGNER, headers: dict | None = None):
    body = compact_json(payload)
    sent_headers = signer.headers(body) if headers is None else headers
    return client.post(URL, data=body, content_type="application/json", headers=sent_headers)


def sent_card(**fields):
    return make_card(status=CardStatus.SENT, ghl_email_message_id="em123", sent_at=timezone.now(), **fields)


def test_it_counts_a_delivered_email(db, client):
    card = sent_card()

    response = post(client, stats("delivered", "em123", "w1"))

    assert response.status_code == 200
    event = EmailEvent.objects.get()
    assert (event.kind, event.card, event.lead) == ("delivered", card, card.lead)
    assert WebhookDelivery.objects.get().processed_at is not None


def test_it_applies_a_redelivered_event_only_once(db, client):
    sent_card()
    payload = stats("opened", "em123", "w-same")

    first, second = post(client, payload), post(client, payload)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["detail"].startswith("duplicate")
    assert EmailEvent.objects.count() == 1


def test_it_suppresses_a_hard_bounce_everywhere(db, client):
    card = sent_card()
    follow_up = make_card(status=CardStatus.APPROVED, lead=card.lead, campaign=card.campaign, step_number=2)

    post(client, stats("failed", "em123", "w2", severity="permanent", reason="mailbox does not exist"))

    lead = Lead.objects.get(pk=card.lead_id)
    assert lead.bounced_at is not None
    follow_up.refresh_from_db()
    assert follow_up.status == CardStatus.REJECTED
    assert EmailEvent.objects.filter(kind="bounced").count() == 1


def test_it_counts_a_temporary_failure_as_a_soft_bounce_without_suppressing(db, client):
    card = sent_card()

    response = post(client, stats("failed", "em123", "w3", severity="temporary"))

    assert response.status_code == 200
    card.lead.refresh_from_db()
    assert card.lead.bounced_at is None
    event = EmailEvent.objects.get()
    assert (event.kind, event.card, event.detail) == ("soft_bounced", card, "failed severity=temporary")


def test_it_stops_the_sequence_on_a_reply(db, client):
    card = sent_card()
    Lead.objects.filter(pk=card.lead_id).update(ghl_contact_id="contact-1")
    Enrollment.objects.create(lead=card.lead, campaign=card.campaign, current_step=1)

    post(client, envelope("InboundMessage", "w4", direction="inbound", messageType="Email", contactId="contact-1", **{"from": "Celia <x@y.example>"}))

    card.lead.refresh_from_db()
    assert card.lead.replied_at is not None
    assert Enrollment.objects.get().status == Enrollment.Status.STOPPED
    assert EmailEvent.objects.get().kind == "replied"


def test_it_unsubscribes_on_a_dnd_update(db, client):
    card = sent_card()

    post(client, envelope("ContactDndUpdate", "w5", id="c9", email=card.lead.email.upper(), dnd=False, dndSettings={"Email": {"status": "active"}}))

    card.lead.refresh_from_db()
    assert card.lead.unsubscribed_at is not None


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("missing signature", {}),
        ("garbage signature", {"x-ghl-signature": "bm90IGEgc2lnbmF0dXJl"}),
        ("signed by someone else", "other-key"),
    ],
)
def test_it_refuses_a_forged_delivery_and_stores_nothing(db, client, name, headers):
    sent_card()
    payload = stats("failed", "em123", "w6", severity="permanent")
    if headers == "other-key":
        response = post(client, payload, signer=WebhookSigner(Ed25519PrivateKey.generate()))
    else:
        response = post(client, payload, headers=headers)

    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()
    assert not Lead.objects.filter(bounced_at__isnull=False).exists()


def test_it_refuses_a_stale_delivery(db, client):
    # Older than GHL's whole redelivery schedule (6 tries ~10 minutes apart): a replay, not a retry.
    payload = stats("opened", "em123", "w7")
    payload["timestamp"] = (timezone.now() - dt.timedelta(hours=3)).isoformat()

    response = post(client, payload)

    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_it_asks_for_redelivery_when_it_cannot_store(db, client):
    with mock.patch("outreach.inbound.webhooks.store_delivery", side_effect=DatabaseError("disk full")):
        response = post(client, stats("opened", "em123", "w8"))

    # GHL redelivers only after a 429; a 5xx would lose the event.
    assert response.status_code == 429


def test_the_redelivery_ghl_sends_after_our_429_is_accepted(db, client):
    # GHL redelivers the same signed body about ten minutes after a 429, up to six
    # times: refusing it as stale would lose the event we asked for again.
    card = sent_card()
    payload = stats("unsubscribed", "em123", "w-redelivered")
    with mock.patch("outreach.inbound.webhooks.store_delivery", side_effect=DatabaseError("locked")):
        assert post(client, payload).status_code == 429

    for minutes_later in (10, 35, 66):
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes_later)):
            response = post(client, payload)
        assert response.status_code == 200, response.json()

    card.lead.refresh_from_db()
    assert card.lead.unsubscribed_at is not None
    assert WebhookDelivery.objects.count() == 1


def test_it_keeps_a_delivery_that_fails_to_apply_and_retries_it(db, client):
    sent_card()
    with mock.patch("outreach.inbound.webhooks.apply_event", side_effect=RuntimeError("boom")):
        response = post(client, stats("clicked", "em123", "w9"))

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.processed_at is None and "boom" in delivery.error

    call_command("process_webhooks", verbosity=0)

    delivery.refresh_from_db()
    assert delivery.processed_at is not None
    assert EmailEvent.objects.get().kind == "clicked"


def test_it_refuses_get(db, client):
    assert client.get(URL).status_code == 405


# --- nothing a delivery carries may turn into a 5xx (GHL drops the event on one) ---


def _no_server_error(client, body: bytes, headers: dict) -> int:
    client.raise_request_exception = False
    response = client.post(URL, data=body, content_type="application/json", headers=headers)
    assert response.status_code < 500, response.content
    return response.status_code


@pytest.mark.parametrize(
    "payload",
    [
        stats("opened", "em123", "w10") | {"webhookPayload": "not an object"},
        stats("opened", "em123", "w11") | {"webhookPayload": {"event": "opened", "id": "e11", "lc-operations": ["x"]}},
        envelope("ContactDndUpdate", "w12", id="c9", email="x@y.example", dndSettings=["Email"]),
        envelope("ContactDndUpdate", "w13", id="c9", email="x@y.example", dndSettings={"Email": "active"}),
    ],
    ids=["stats-payload-a-string", "lc-operations-a-list", "dnd-settings-a-list", "dnd-email-a-string"],
)
def test_a_signed_delivery_of_an_unexpected_shape_is_stored_not_answered_with_a_5xx(db, client, payload):
    body = compact_json(payload)

    assert _no_server_error(client, body, SIGNER.headers(body)) == 200
    assert WebhookDelivery.objects.filter(webhook_id=payload["webhookId"]).exists()


@pytest.mark.parametrize("timestamp", [1e300, float("nan"), -1e20], ids=["huge", "nan", "negative"])
def test_a_signed_delivery_with_an_impossible_timestamp_is_refused_not_answered_with_a_5xx(db, client, timestamp):
    body = compact_json(stats("opened", "em123", "w14") | {"timestamp": timestamp})

    assert _no_server_error(client, body, SIGNER.headers(body)) == 401
    assert not WebhookDelivery.objects.exists()


def test_a_forged_deeply_nested_body_is_refused_not_answered_with_a_5xx(db, client):
    body = b"[" * 100_000 + b"]" * 100_000

    assert _no_server_error(client, body, {"x-ghl-signature": "bm90IGEgc2lnbmF0dXJl"}) == 401
    assert not WebhookDelivery.objects.exists()


def test_a_raw_hex_key_takes_deliveries_and_an_rsa_only_one_is_refused_without_the_rsa_key(db, client, settings):
    from cryptography.hazmat.primitives import serialization

    from ghl.sandbox.keys import rsa_key

    raw = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = raw.hex()
    card = sent_card()
    assert post(client, stats("opened", "em123", "wh-hex")).status_code == 200
    assert EmailEvent.objects.get().card_id == card.pk

    legacy = WebhookSigner(KEY, rsa_key("legacy"))
    payload = stats("clicked", "em123", "wh-rsa")
    rsa_only = legacy.headers(compact_json(payload), ed25519=False, rsa=True)
    refused = post(client, payload, headers=rsa_only)
    assert refused.status_code == 401 and "no RSA public key is configured" in refused.json()["detail"]
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = public_key_pem(rsa_key("legacy"))
    assert post(client, payload, headers=rsa_only).status_code == 200
