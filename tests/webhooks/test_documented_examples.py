"""GHL's own webhook examples (tests/webhooks/documented/), signed with a test key, accepted and applied once.

The examples are used as GHL publishes them: no timestamp, no webhookId, each
for its own location. Our data is made to match them (the location we are
configured for, a lead with the example's contact id), never the other way.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.utils import timezone

from ghl.webhooks import WebhookSigner, compact_json, public_key_pem
from outreach.models import CardStatus, EmailEvent, Enrollment, Lead, Reply, WebhookDelivery, WebhookRefusal
from outreach.inbound.webhooks import webhook_figures
from tests.factories import make_card, make_lead

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).parent / "documented"
URL = "/webhooks/ghl/"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SIGNER = WebhookSigner(Ed25519PrivateKey.generate(), RSA_KEY)


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def test_key(settings):
    """Our test RSA key in place of GHL's published one; no Ed25519 key (x-wh-signature is what the guide shows)."""
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = public_key_pem(RSA_KEY)
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = ""


def deliver(client, settings, payload: dict, *, ours: bool = True):
    """POST the payload signed with x-wh-signature; our location is the example's own unless `ours` is False."""
    if ours:
        settings.GHL_LOCATION_ID = payload["locationId"]
    body = compact_json(payload)
    return client.post(URL, data=body, content_type="application/json", headers=SIGNER.headers(body, ed25519=False, rsa=True))


def twice(client, settings, payload: dict):
    first, second = deliver(client, settings, payload), deliver(client, settings, payload)
    assert (first.status_code, first.json()["detail"]) == (200, "stored")
    assert (second.status_code, second.json()["detail"]) == (200, "duplicate: already received")
    delivery = WebhookDelivery.objects.get()
    assert delivery.stamped is False and delivery.dedupe_key  # GHL's examples carry no timestamp/webhookId
    assert delivery.processed_at is not None and delivery.error == ""
    return delivery


def sent_card(lead: Lead, ghl_email_message_id: str):
    return make_card(status=CardStatus.SENT, lead=lead, ghl_email_message_id=ghl_email_message_id, sent_at=timezone.now())


def test_the_lcemailstats_example_counts_a_delivery_on_the_card_its_message_id_names(client, settings):
    payload = example("lcemailstats_delivered")
    lead = make_lead(email="test@example.com")
    other = sent_card(lead, "another-email")
    # The example's documented link is message.headers.message-id "<message-id>".
    card = sent_card(lead, "message-id")

    delivery = twice(client, settings, payload)

    event = EmailEvent.objects.get()
    assert (event.kind, event.card, event.lead, event.delivery) == ("delivered", card, lead, delivery)
    assert delivery.dedupe_key == "lcemailstats:ve9EPM428h8vShlRW1KT"
    assert not other.email_events.exists()


@pytest.mark.parametrize(
    ("status", "kind", "suppressed"),
    [
        ({"code": 550, "message": "mailbox unavailable", "enhanced-code": "5.1.1"}, "bounced", True),
        ({"code": 421, "message": "try again later", "enhanced-code": "4.4.1"}, "soft_bounced", False),
        ({"code": None, "message": "", "enhanced-code": "5.7.1"}, "bounced", True),
        ({"message": "something went wrong"}, "unclassified", False),
    ],
    ids=["smtp-550", "smtp-421", "enhanced-5.x-only", "nothing-to-tell"],
)
def test_a_failed_lcemailstats_is_classed_from_its_documented_delivery_status(client, settings, status, kind, suppressed):
    payload = example("lcemailstats_delivered")
    payload["webhookPayload"]["event"] = "failed"
    payload["webhookPayload"]["delivery-status"] = status
    lead = make_lead(email="test@example.com")
    card = sent_card(lead, "message-id")

    twice(client, settings, payload)

    event = EmailEvent.objects.get()
    assert (event.kind, event.card) == (kind, card)
    assert event.detail.startswith("failed")
    lead.refresh_from_db()
    assert (lead.bounced_at is not None) is suppressed


def test_an_lcemailstats_event_we_do_not_know_is_kept_and_counted(client, settings):
    payload = example("lcemailstats_delivered")
    payload["webhookPayload"]["event"] = "deferred-in-the-future"
    lead = make_lead(email="test@example.com")
    sent_card(lead, "message-id")

    twice(client, settings, payload)

    event = EmailEvent.objects.get()
    assert (event.kind, event.detail) == ("unclassified", "event deferred-in-the-future")


def test_the_contactdndupdate_example_suppresses_the_lead(client, settings):
    payload = example("contactdndupdate")
    lead = make_lead(email="johndeo@gmail.comm", ghl_contact_id="nmFmQEsNgz6AVpgLVUJ0")
    card = make_card(status=CardStatus.PENDING, lead=lead)

    twice(client, settings, payload)

    lead.refresh_from_db()
    assert lead.unsubscribed_at is not None
    card.refresh_from_db()
    assert card.status == CardStatus.REJECTED
    assert EmailEvent.objects.get().kind == "unsubscribed"


def test_the_inbound_email_example_records_a_reply_with_its_text_on_the_card_it_answers(client, settings):
    payload = example("inbound_email")
    lead = make_lead(email="sample@email.service", ghl_contact_id="3bN9f8LYJFG8F232XMUbfq")
    answered = sent_card(lead, "sddfDSF3G56GHG")  # the example's threadId
    sent_card(lead, "a-later-email")
    enrollment = Enrollment.objects.create(lead=lead, campaign=answered.campaign, current_step=1)

    delivery = twice(client, settings, payload)

    reply = Reply.objects.get()
    assert (reply.lead, reply.card, reply.delivery) == (lead, answered, delivery)
    assert reply.text == payload["body"] and reply.subject == "Order Confirmed" and reply.channel == "Email"
    assert reply.ghl_message_id == "sddfDSF3G56GHG" and reply.classification == "unclassified"
    assert reply.received_at.isoformat().startswith("2024-01-12T12:59:04")
    lead.refresh_from_db()
    assert lead.replied_at is not None
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.STOPPED
    assert EmailEvent.objects.get().kind == "replied"


@pytest.mark.parametrize("name", ["inbound_sms", "inbound_voicemail"])
def test_the_other_inbound_examples_are_replies_too(client, settings, name):
    payload = example(name)
    lead = make_lead(ghl_contact_id=payload["contactId"])

    twice(client, settings, payload)

    reply = Reply.objects.get()
    assert reply.lead == lead and reply.text == payload.get("body", "") and reply.channel == payload["messageType"]


@pytest.mark.parametrize("name", ["outbound_sms", "outbound_call", "outbound_voicemail", "outbound_email", "inbound_call"])
def test_the_outbound_examples_are_stored_and_change_nothing(client, settings, name):
    # inbound_call is the InboundMessage document's call example, whose type says OutboundMessage.
    payload = example(name)
    make_lead(ghl_contact_id=payload["contactId"])

    delivery = twice(client, settings, payload)

    assert delivery.outcome == "ignored: outbound message echo"
    assert not Reply.objects.exists() and not EmailEvent.objects.exists()


def test_the_appointmentcreate_example_counts_a_meeting(client, settings):
    payload = example("appointmentcreate")
    lead = make_lead(ghl_contact_id="9NkT25Vor1v4aQatFsv2")
    card = sent_card(lead, "e1")

    twice(client, settings, payload)

    event = EmailEvent.objects.get()
    assert (event.kind, event.lead, event.card) == ("meeting", lead, card)


def test_unstamped_deliveries_are_counted_where_operators_look(client, settings, admin_client):
    twice(client, settings, example("outbound_sms"))
    assert webhook_figures()["unstamped"] == 1
    page = admin_client.get("/admin/outreach/webhookdelivery/")
    assert "Unstamped (no timestamp/webhookId): 1" in page.content.decode()


def test_a_delivery_for_another_location_is_refused_and_recorded(client, settings):
    settings.GHL_LOCATION_ID = "ourLocation000000001"
    payload = example("contactdndupdate")
    lead = make_lead(email="johndeo@gmail.comm")  # same address, but not our location's contact

    response = deliver(client, settings, payload, ours=False)

    assert response.status_code == 403
    assert "location 've9EPM428h8vShlRW1KT' is not ours" in response.json()["detail"]
    assert not WebhookDelivery.objects.exists()
    lead.refresh_from_db()
    assert lead.unsubscribed_at is None
    refusal = WebhookRefusal.objects.get()
    assert (refusal.reason, refusal.location_id, refusal.event_type) == ("location", "ve9EPM428h8vShlRW1KT", "ContactDndUpdate")
    assert refusal.size == len(compact_json(payload)) and len(refusal.body_sha256) == 64
    assert "x-wh-signature" in {name.lower() for name in refusal.headers}


def test_a_refusal_keeps_no_secret_header(client, settings):
    payload = example("outbound_sms")
    body = compact_json(payload)
    response = client.post(
        URL, data=body, content_type="application/json",
        headers={"x-wh-signature": "bm9wZQ==", "Authorization": "Bearer sekret", "X-Api-Key": "sekret", "Cookie": "s=sekret"},
    )
    assert response.status_code == 401
    refusal = WebhookRefusal.objects.get()
    assert refusal.reason == "signature" and "does not match" in refusal.detail
    assert "sekret" not in json.dumps(refusal.headers)


def test_a_present_but_stale_timestamp_is_still_refused(client, settings):
    payload = example("outbound_sms") | {"timestamp": "2020-01-01T00:00:00Z", "webhookId": "wh-old"}
    response = deliver(client, settings, payload)
    assert response.status_code == 401 and "stale" in response.json()["detail"]
    assert WebhookRefusal.objects.get().reason == "signature"


def test_a_poison_delivery_is_quarantined_after_its_retries_and_reported(client, settings):
    payload = example("outbound_sms")
    with mock.patch("outreach.inbound.webhooks.apply_event", autospec=True, side_effect=RuntimeError("cannot apply this")):
        assert deliver(client, settings, payload).status_code == 200  # stored: GHL must get its 200
        delivery = WebhookDelivery.objects.get()
        assert (delivery.attempts, delivery.quarantined_at) == (1, None)
        for _ in range(WebhookDelivery.MAX_ATTEMPTS - 2):
            with pytest.raises(Exception, match="still fail"):
                call_command("process_webhooks", stdout=StringIO())
        out = StringIO()
        call_command("process_webhooks", stdout=out)  # the last attempt: quarantined, exit 0

    delivery.refresh_from_db()
    assert delivery.attempts == WebhookDelivery.MAX_ATTEMPTS and delivery.quarantined_at is not None
    assert "RuntimeError: cannot apply this" in delivery.error
    assert f"Quarantined delivery {delivery.pk} after {WebhookDelivery.MAX_ATTEMPTS} attempts" in out.getvalue()
    # Later runs leave it alone, succeed, and keep reporting it.
    out = StringIO()
    call_command("process_webhooks", stdout=out)
    assert "0 deliveries applied, 0 still failing, 0 quarantined now. In all: 1 quarantined" in out.getvalue()
    delivery.refresh_from_db()
    assert delivery.attempts == WebhookDelivery.MAX_ATTEMPTS


def test_a_delivery_naming_another_app_is_refused_when_our_app_is_configured(client, settings):
    settings.GHL_APP_ID = "ourApp"
    theirs = example("outbound_sms") | {"appId": "theirApp"}
    assert deliver(client, settings, theirs).status_code == 403
    assert WebhookRefusal.objects.get().detail == "app 'theirApp' is not ours"
    # GHL's examples name no app: still ours.
    assert deliver(client, settings, example("outbound_sms")).status_code == 200
