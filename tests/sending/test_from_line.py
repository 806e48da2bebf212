"""The From line: sent to GHL as "Name <address>", shown on the card exactly as sent, refused when it could add headers."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from ghl.errors import GhlUnsafeField
from outreach import review
from outreach.models import Campaign
from outreach.sending.job import send_card
from outreach.sending.headers import display_from, from_header
from outreach.sending.render import render
from outreach.sending.select import start_live_cycle
from tests.dispatch.helpers import green_gates
from tests.factories import make_campaign, make_card
from tests.review.test_desk import preview_of

BREAKERS = ["Alex\r\nBcc: x@evil.example", "Alex\nRivera", "Alex\rRivera", "Alex\x00", "Alex\x0bRivera", "Alex\u2028Rivera", "Alex\x85"]


@pytest.mark.parametrize(
    ("name", "address", "header", "shown"),
    [
        ("Alex Rivera", "alex@caio.example", "Alex Rivera <alex@caio.example>", "Alex Rivera <alex@caio.example>"),
        ("", "alex@caio.example", "alex@caio.example", "alex@caio.example"),
        ("  Alex Rivera ", "alex@caio.example", "Alex Rivera <alex@caio.example>", "Alex Rivera <alex@caio.example>"),
        (" ", "alex@caio.example", "alex@caio.example", "alex@caio.example"),
        # Specials are quoted, as RFC 5322 wants: unquoted, the comma would make two addresses.
        ("Rivera, Alex", "alex@caio.example", '"Rivera, Alex" <alex@caio.example>', "Rivera, Alex <alex@caio.example>"),
        ('Alex "AR" R.', "alex@caio.example", '"Alex \\"AR\\" R." <alex@caio.example>', 'Alex "AR" R. <alex@caio.example>'),
        # A name that is not ASCII is RFC 2047-encoded; a mail program shows it decoded.
        ("José Núñez", "jose@caio.example", "=?utf-8?b?Sm9zw6kgTsO6w7Fleg==?= <jose@caio.example>", "José Núñez <jose@caio.example>"),
        ("Alex", "alex@bücher.example", "Alex <alex@xn--bcher-kva.example>", "Alex <alex@xn--bcher-kva.example>"),
        # IDNA 2008 keeps ß (Python's "idna" codec, IDNA 2003, would send from strasse.example, another domain).
        ("Alex", "alex@straße.example", "Alex <alex@xn--strae-oqa.example>", "Alex <alex@xn--strae-oqa.example>"),
    ],
)
def test_the_from_header_quotes_and_encodes_the_name(name, address, header, shown):
    assert from_header(name, address) == header
    assert display_from(header) == shown


@pytest.mark.django_db
@pytest.mark.parametrize("name", BREAKERS)
def test_a_sender_name_that_could_add_headers_is_refused_when_saved(name):
    campaign = make_campaign(sender_name="Alex Rivera")
    campaign.sender_name = name
    with pytest.raises(ValidationError) as caught:
        campaign.full_clean()
    assert "line break or control character" in caught.value.message_dict["sender_name"][0]
    with pytest.raises(ValidationError, match="line break or control character"):
        campaign.save()
    assert Campaign.objects.get(pk=campaign.pk).sender_name == "Alex Rivera"


@pytest.mark.django_db
def test_the_campaign_admin_refuses_such_a_name_with_a_clear_message_and_keeps_the_old_one(admin_client):
    campaign = make_campaign(ref="spring", name="Spring", sender_name="Alex Rivera", sender_email="alex@caio.example")
    url = reverse("admin:outreach_campaign_change", args=[campaign.pk])
    form = {
        "name": "Spring", "ref": "spring", "is_active": "on", "tier": campaign.tier, "classifier": campaign.classifier,
        "route": campaign.route, "sender_name": "Alex\r\nBcc: x@evil.example", "sender_email": "alex@caio.example",
        "steps-TOTAL_FORMS": "0", "steps-INITIAL_FORMS": "0", "steps-MIN_NUM_FORMS": "0", "steps-MAX_NUM_FORMS": "1000",
    }

    response = admin_client.post(url, form)

    assert response.status_code == 200
    assert "line break or control character" in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).sender_name == "Alex Rivera"
    # A name with specials is fine: it is quoted when sent, and the page shows the From line as sent.
    response = admin_client.post(url, {**form, "sender_name": "Rivera, Alex"})
    assert response.status_code == 302
    page = admin_client.get(url).content.decode()
    assert "&quot;Rivera, Alex&quot; &lt;alex@caio.example&gt;" in page
    assert "Replies: to alex@caio.example" in page


@pytest.mark.django_db
def test_the_card_shows_where_replies_go_and_no_reply_to_it_does_not_send(client, hos):
    card = make_card(campaign=make_campaign(sender_name="José Núñez", sender_email="jose@caio.example"))
    client.force_login(hos)

    page = client.get(reverse("admin:outreach_pendingemail_change", args=[card.pk])).content.decode()

    assert "Reply-To" not in page
    assert '<dd id="email-replies">to jose@caio.example (GHL threads replies into the conversation)</dd>' in page
    assert render(card).from_line == "=?utf-8?b?Sm9zw6kgTsO6w7Fleg==?= <jose@caio.example>"
    assert '<dt>Shown as</dt><dd id="email-from-shown">José Núñez &lt;jose@caio.example&gt;</dd>' in page


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Rivera, Alex", "José Núñez"])
def test_the_sandbox_receives_the_from_line_the_card_shows(
    name, client, hos, operator, ghl_sandbox, settings, redis_conn, django_capture_on_commit_callbacks
):
    settings.REVIEW_UNDO_SECONDS = 0
    green_gates()
    card = make_card(campaign=make_campaign(sender_name=name, sender_email="alex.rivera@caio.example"))
    review.approve(card, user=hos)
    client.force_login(hos)
    shown = preview_of(client, card)

    with django_capture_on_commit_callbacks(execute=True):
        start_live_cycle(operator=operator)
    assert send_card(card.pk).outcome == "sent"

    [delivered] = ghl_sandbox.deliveries()
    assert delivered["from"] == shown["email-from"] == render(card).from_line
    assert (delivered["from_name"], delivered["from_email"]) == (name, "alex.rivera@caio.example")


def test_the_ghl_client_refuses_an_emailfrom_that_could_add_headers(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    with pytest.raises(GhlUnsafeField, match="emailFrom"):
        client.send_email(
            contact_id=contact.id, subject="Hi", html="<p>x</p>", text="x", email_from="Alex <a@caio.example>\r\nBcc: x@evil.example"
        )
    assert ghl_sandbox.deliveries() == []


@pytest.mark.django_db
def test_a_plain_name_is_shown_once_as_sent(client, hos):
    card = make_card(campaign=make_campaign(sender_name="Alex Rivera", sender_email="alex@caio.example"))
    client.force_login(hos)

    page = client.get(reverse("admin:outreach_pendingemail_change", args=[card.pk])).content.decode()

    assert '<dd id="email-from">Alex Rivera &lt;alex@caio.example&gt;</dd>' in page
    assert "email-from-shown" not in page


@pytest.mark.django_db
def test_a_sender_address_whose_domain_cannot_be_written_in_a_header_is_refused_when_saved():
    campaign = make_campaign(sender_email="alex@caio.example")
    # Django's EmailField reads domains as IDNA 2003 and lets this through; IDNA 2008 refuses the symbol.
    campaign.sender_email = "alex@\u2665.example"
    with pytest.raises(ValidationError) as caught:
        campaign.save()
    assert "is not a valid domain name" in caught.value.message_dict["sender_email"][0]
    assert Campaign.objects.get(pk=campaign.pk).sender_email == "alex@caio.example"
