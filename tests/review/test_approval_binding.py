"""The approval binds the whole send; any change after it, by any path, sends the card back to review.

And four eyes read the whole history of the card's text.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ghl.webhooks import WebhookSigner, compact_json, public_key_pem
from outreach import review
from outreach.models import APPROVAL_PARTS, CardStatus, CardTransition, Lead, PendingEmail
from outreach.review import ReviewRefused
from outreach.roles import HEAD_OF_SALES, OPERATOR
from tests.factories import make_card, make_lead, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def hos():
    return make_user("celia", role=HEAD_OF_SALES)


@pytest.fixture
def operator():
    return make_user("pto", role=OPERATOR)


def last_reason(card) -> str:
    return CardTransition.objects.filter(card=card).last().reason


def approved(hos, **fields) -> PendingEmail:
    card = make_card(**fields)
    return review.approve(card, user=hos)


def test_the_approval_records_every_part_of_the_send(hos):
    card = approved(hos, lead=make_lead(email="a@acme.example", first_name="Ann", last_name="Lee", ghl_contact_id="c1"))

    assert tuple(card.approved_parts) == APPROVAL_PARTS
    assert card.approved_parts["recipient"] == "Ann Lee <a@acme.example>"
    assert card.approved_parts["GHL contact"] == "c1"
    assert card.approved_parts["campaign step"] == f"{card.campaign_ref} step 1"
    assert card.approved_content_hash == card.content_hash()


def test_a_lead_saved_with_another_address_sends_its_approved_card_back(hos):
    card = approved(hos)
    lead = Lead.objects.get(pk=card.lead_id)

    lead.email = "victim-ceo@bigcustomer.example"
    lead.save()

    card.refresh_from_db()
    assert card.status == CardStatus.PENDING and card.approved_parts == {}
    assert last_reason(card) == "recipient changed after approval: back to review"


def test_a_lead_saved_unchanged_leaves_the_approval_standing(hos):
    card = approved(hos)

    Lead.objects.get(pk=card.lead_id).save()

    assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.APPROVED


def test_a_new_sender_on_the_campaign_sends_its_approved_cards_back(hos):
    card = approved(hos)
    campaign = card.campaign

    campaign.sender_email = "someone-else@caio.example"
    campaign.save()

    card.refresh_from_db()
    assert card.status == CardStatus.PENDING
    assert last_reason(card) == "sender changed after approval: back to review"


def test_a_data_fix_of_the_contact_id_is_found_by_the_eligibility_check(hos):
    card = approved(hos, lead=make_lead(ghl_contact_id="c1"))
    Lead.objects.filter(pk=card.lead_id).update(ghl_contact_id="someone-elses-contact")

    from outreach import eligibility

    verdict = eligibility.judge_one(PendingEmail.objects.get(pk=card.pk), eligibility.Conditions.current())
    assert "GHL contact changed after approval: it must be reviewed again" in verdict.lines()[0]


def test_a_signed_contact_update_with_another_address_sends_the_approved_card_back(hos, client, settings):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.utils import timezone

    key = Ed25519PrivateKey.generate()
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = public_key_pem(key)
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = ""
    card = approved(hos, lead=make_lead(email="a@acme.example", ghl_contact_id="contact-a"))
    other = approved(hos)
    payload = {
        "type": "ContactUpdate",
        "locationId": settings.GHL_LOCATION_ID,
        "webhookId": "w-contact-update-1",
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
        "id": "contact-a",
        "email": "victim-ceo@bigcustomer.example",
        "firstName": "Ann",
    }
    body = compact_json(payload)

    response = client.post("/webhooks/ghl/", data=body, content_type="application/json", headers=WebhookSigner(key).headers(body))

    assert response.status_code == 200
    card.refresh_from_db()
    assert card.status == CardStatus.PENDING
    assert last_reason(card) == (
        "recipient changed after approval (GHL contact contact-a now has the address victim-ceo@bigcustomer.example): back to review"
    )
    assert PendingEmail.objects.get(pk=other.pk).status == CardStatus.APPROVED


def test_a_contact_update_that_keeps_the_address_leaves_the_approval(hos, client, settings):
    from ghl.webhooks import parse_event
    from outreach.inbound.webhooks import apply_event
    from outreach.models import WebhookDelivery

    card = approved(hos, lead=make_lead(email="a@acme.example", ghl_contact_id="contact-a"))
    payload = {"type": "ContactUpdate", "id": "contact-a", "email": "A@Acme.example", "firstName": "Ann"}
    delivery = WebhookDelivery.objects.create(dedupe_key="k1", event_type="ContactUpdate", payload=payload)

    assert apply_event(parse_event(payload), delivery) == f"lead {card.lead_id}: address unchanged"
    assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.APPROVED


def test_the_lead_import_never_changes_a_stored_lead_nor_its_contact_id(hos, client):
    card = approved(hos, lead=make_lead(email="a@acme.example", first_name="Ann"))
    client.force_login(hos)
    csv = "email,first_name,last_name,tier,ghl_contact_id\nA@acme.example,Someone,Else,tier_1,victims-contact\nnew@acme.example,New,Lead,tier_1,victims-contact\n"

    preview = client.post(reverse("admin:outreach_lead_import"), {"import_file": SimpleUploadedFile("l.csv", csv.encode()), "format": "0"})
    client.post(reverse("admin:outreach_lead_process_import"), {**preview.context["confirm_form"].initial, "confirm": "1"})

    lead = Lead.objects.get(pk=card.lead_id)
    assert (lead.first_name, lead.ghl_contact_id) == ("Ann", "")
    assert Lead.objects.get(email="new@acme.example").ghl_contact_id == ""
    assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.APPROVED


def test_the_lead_admin_form_has_no_contact_id_field(hos, client):
    lead = make_lead(ghl_contact_id="c1")
    client.force_login(make_user(superuser=True))

    page = client.get(reverse("admin:outreach_lead_change", args=[lead.pk])).content.decode()

    assert 'name="ghl_contact_id"' not in page and "c1" in page


def test_four_eyes_refuse_anyone_who_wrote_part_of_the_current_text(hos, operator):
    card = make_card()
    review.edit(card, user=hos, subject=card.subject, body=card.body + "\n\nP.S. Her body edit.")
    review.edit(card, user=operator, subject=card.subject + "!", body=PendingEmail.objects.get(pk=card.pk).body)

    with pytest.raises(ReviewRefused) as refused:
        review.approve(PendingEmail.objects.get(pk=card.pk), user=hos)

    message = refused.value.reason
    assert re.search(r"You edited the body on .+; pto edited the subject on .+\. Someone who wrote none of it must approve it", message), message
    assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.PENDING


def test_four_eyes_let_a_writer_approve_once_every_word_of_theirs_is_replaced(hos, operator):
    card = make_card()
    review.edit(card, user=hos, subject=card.subject, body="Her body.\n\nBest,\nAlex Rivera")
    review.edit(card, user=operator, subject=card.subject, body="His body.\n\nBest,\nAlex Rivera")

    assert review.four_eyes_refusal(PendingEmail.objects.get(pk=card.pk), user=hos) == ""
    assert "You edited the body" in review.four_eyes_refusal(PendingEmail.objects.get(pk=card.pk), user=operator)


def test_editing_an_approved_card_names_what_changed(hos, operator):
    card = approved(hos)

    review.edit(card, user=operator, subject="A new subject", body=card.body)

    card.refresh_from_db()
    assert card.status == CardStatus.PENDING
    assert last_reason(card) == "subject changed after approval (edited by pto): back to review"
