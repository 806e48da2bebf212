"""The replies inbox in the admin: order, filters, reclassification and the handled mark."""

from __future__ import annotations

import itertools

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.models import Suppression
from ghl.webhooks import WebhookSigner, compact_json, public_key_pem
from outreach.models import CardStatus, EmailEvent, Enrollment, Lead, Reply
from outreach.roles import HEAD_OF_SALES
from tests.factories import make_card, make_lead, make_user

pytestmark = pytest.mark.django_db

KEY = Ed25519PrivateKey.generate()
SIGNER = WebhookSigner(KEY)
_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def webhook_key(settings):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = public_key_pem(KEY)
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = ""


def inbound(body: str, *, subject: str = "Re: Hello", lead: Lead | None = None) -> Reply:
    """A reply as GHL delivers it, through the real receiver, to a lead with a sent card and an active sequence."""
    if lead is None:
        n = next(_ids)
        lead = make_lead(ghl_contact_id=f"contact-{n}", company=f"Acme {n}")
        card = make_card(status=CardStatus.SENT, lead=lead, sent_at=timezone.now(), ghl_conversation_id=f"conv-{n}")
        Enrollment.objects.create(lead=lead, campaign=card.campaign, current_step=1)
    n = next(_ids)
    payload = {
        "type": "InboundMessage", "locationId": settings.GHL_LOCATION_ID, "webhookId": f"w-{n}",
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"), "direction": "inbound", "messageType": "Email",
        "contactId": lead.ghl_contact_id, "messageId": f"m-{n}", "subject": subject, "body": body, "from": lead.email,
    }
    raw = compact_json(payload)
    assert Client().post("/webhooks/ghl/", data=raw, content_type="application/json", headers=SIGNER.headers(raw)).status_code == 200
    return Reply.objects.select_related("lead").get(ghl_message_id=f"m-{n}")


@pytest.fixture
def hos_client(client):
    user = make_user("hos", role=HEAD_OF_SALES)
    client.force_login(user)
    client.user = user
    return client


def change(client, reply: Reply, **data):
    form = {"classification": reply.classification, "handled": "on" if reply.handled_at else "", **data}
    return client.post(f"/admin/outreach/reply/{reply.pk}/change/", form, follow=True)


def test_the_inbox_lists_unhandled_first_then_newest_with_text_lead_and_step(hos_client):
    with time_machine.travel("2026-03-02 10:00Z", tick=False):
        old = inbound("<p>Sounds good, let's talk.</p>")
    with time_machine.travel("2026-03-03 10:00Z", tick=False):
        handled = inbound("Not right now, check back in Q3.")
    with time_machine.travel("2026-03-04 10:00Z", tick=False):
        new = inbound("Who is this?")
    Reply.objects.filter(pk=handled.pk).update(handled_at=timezone.now())

    page = hos_client.get("/admin/outreach/reply/").content.decode()

    positions = [page.index(f"/admin/outreach/reply/{r.pk}/change/") for r in (new, old, handled)]
    assert positions == sorted(positions)
    assert "Sounds good, let&#x27;s talk." in page and old.lead.company in page
    assert f"{old.card.campaign_ref} step 1" in page
    assert 'class="reply-class reply-interested"' in page and 'class="reply-class reply-not_now"' in page
    assert "<h1>Replies</h1>" in page and "Select reply to change" not in page


def test_the_filters_narrow_the_inbox_to_interested_replies_not_handled(hos_client):
    interested = inbound("Tell me more.")
    inbound("STOP")
    done = inbound("Yes, let's talk.")
    Reply.objects.filter(pk=done.pk).update(handled_at=timezone.now())

    page = hos_client.get("/admin/outreach/reply/?handled=no&classification__exact=interested").content.decode()

    assert f"/admin/outreach/reply/{interested.pk}/change/" in page
    assert page.count('class="reply-class ') == 1


def test_the_admin_index_shows_interested_replies_waiting(hos_client):
    inbound("Tell me more.")
    inbound("Sure, let's set up a call.")
    inbound("I am out of the office until Monday.", subject="Automatic reply: Hello")
    inbound("Who is this?")

    page = hos_client.get("/admin/").content.decode()

    assert '<a href="/admin/outreach/reply/?handled=no&amp;classification__exact=interested" id="interested-replies">2</a>' in page
    assert "4 not handled" in page and "1 to classify" in page


def test_reclassifying_to_opt_out_suppresses_the_lead_as_the_link_does(hos_client):
    reply = inbound("Who is this? We had to stop the project.")
    assert reply.classification == "unclassified"
    assert Lead.objects.get(pk=reply.lead_id).replied_at is not None

    page = change(hos_client, reply, classification="opt_out").content.decode()

    lead = Lead.objects.get(pk=reply.lead_id)
    assert lead.unsubscribed_at is not None
    # Now an unsubscribe, not a reply.
    assert lead.replied_at is None
    assert list(EmailEvent.objects.filter(lead=lead).values_list("kind", flat=True)) == ["unsubscribed"]
    suppression = Suppression.objects.get(lead_id=lead.pk)
    assert (suppression.kind, suppression.source) == ("unsubscribed", f"reply {reply.pk} (hos)")
    reply.refresh_from_db()
    assert (reply.classification, reply.classified_by.username) == ("opt_out", "hos")
    assert "is now opt-out (was unclassified)" in page and "suppressed everywhere" in page


def test_reclassifying_away_from_opt_out_does_not_lift_the_suppression_and_says_so(hos_client):
    reply = inbound("Unsubscribe")
    assert Lead.objects.get(pk=reply.lead_id).unsubscribed_at is not None
    form_page = hos_client.get(f"/admin/outreach/reply/{reply.pk}/change/").content.decode()
    assert "does NOT lift that suppression" in form_page and "Changing this classification does not lift it" in form_page

    page = change(hos_client, reply, classification="interested").content.decode()

    lead = Lead.objects.get(pk=reply.lead_id)
    assert lead.unsubscribed_at is not None and lead.replied_at is not None
    assert "The lead stays unsubscribed" in page
    assert EmailEvent.objects.get(lead=lead).kind == "replied"


def test_a_reply_is_marked_handled_from_its_page_and_from_the_list(hos_client):
    first, second = inbound("Tell me more."), inbound("Not now.")

    change(hos_client, first, handled="on")
    hos_client.post(
        "/admin/outreach/reply/", {"action": "mark_handled", "_selected_action": [second.pk]}, follow=True
    )

    assert {(r.pk, r.handled_by.username) for r in Reply.objects.filter(handled_at__isnull=False)} == {
        (first.pk, "hos"), (second.pk, "hos")
    }
    assert "0 not handled" in hos_client.get("/admin/").content.decode()


def test_a_person_without_the_role_cannot_reclassify(client):
    reply = inbound("Tell me more.")
    client.force_login(make_user("outsider"))

    response = change(client, reply, classification="opt_out")

    assert response.status_code == 403
    assert Reply.objects.get(pk=reply.pk).classification == "interested"
    assert Lead.objects.get(pk=reply.lead_id).unsubscribed_at is None


def test_the_inbox_reads_a_page_in_a_constant_number_of_queries(hos_client):
    for _ in range(3):
        inbound("Tell me more.")
    with CaptureQueriesContext(connection) as few:
        assert hos_client.get("/admin/outreach/reply/").status_code == 200
    for _ in range(12):
        inbound("Who is this?")
    with CaptureQueriesContext(connection) as many:
        assert hos_client.get("/admin/outreach/reply/").status_code == 200
    assert len(many) == len(few) <= 12


def test_an_auto_reply_never_undoes_a_reply_and_a_lead_counts_as_replied_while_one_of_its_replies_does(hos_client):
    interested = inbound("Tell me more.")
    lead = interested.lead
    inbound("I am out of the office until Monday.", subject="Automatic reply: Hello", lead=lead)
    assert Lead.objects.get(pk=lead.pk).replied_at is not None

    change(hos_client, interested, classification="out_of_office")

    # Neither reply counts as one now; the stopped sequence stays stopped.
    assert Lead.objects.get(pk=lead.pk).replied_at is None
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.STOPPED
    assert sorted(EmailEvent.objects.filter(lead=lead).values_list("kind", flat=True)) == ["auto_replied", "auto_replied"]
