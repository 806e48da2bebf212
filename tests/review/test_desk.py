"""The review desk's pages: the preview is the email the job sends, the lead's story, undo by the page."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from compliance.models import Suppression
from outreach import review
from outreach.models import CardStatus, EmailEvent, PendingEmail, Reply
from outreach.sending.job import send_card
from outreach.sending.render import render
from outreach.sending.select import start_live_cycle
from tests.dispatch.helpers import green_gates
from tests.factories import make_campaign, make_card, a_rejection_tag

pytestmark = pytest.mark.django_db


class Preview(HTMLParser):
    """Read the card page's preview back: header values, the plain-text part and the HTML part, unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: dict[str, str] = {}
        self._open: str | None = None
        self._pre_start = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "iframe" and attrs.get("id") == "email-html":
            self.parts["html"] = attrs["srcdoc"]
        elif attrs.get("id") in ("email-from", "email-to", "email-subject", "email-body"):
            self._open = attrs["id"]
            self.parts[self._open] = ""
            self._pre_start = tag == "pre"

    def handle_endtag(self, tag):
        if tag in ("dd", "pre"):
            self._open = None

    def handle_data(self, data):
        if self._pre_start and data.startswith("\n"):
            # HTML drops the newline right after <pre>, as browsers do; Python's parser keeps it.
            data = data[1:]
        self._pre_start = False
        if self._open:
            self.parts[self._open] += data


def preview_of(client, card: PendingEmail) -> dict[str, str]:
    response = client.get(reverse("admin:outreach_pendingemail_change", args=[card.pk]))
    assert response.status_code == 200
    parser = Preview()
    parser.feed(response.content.decode())
    return parser.parts


def sender_campaign():
    return make_campaign(ref="spring", sender_name="Alex Rivera", sender_email="alex.rivera@caio.example")


def test_the_preview_is_what_the_sender_renders_byte_for_byte(client, hos):
    card = make_card(campaign=sender_campaign(), body="Hi Dana,\n\n<b>Tags</b> & “quotes” stay text: https://caio.example/x?a=1&b=2\n\nBest,\nAlex Rivera")
    client.force_login(hos)

    shown = preview_of(client, card)
    email = render(card)

    assert shown["html"] == email.html
    assert shown["email-body"] == email.text
    assert email.text.endswith(f"\n\nRef: {card.idempotency_key}")
    assert f"<!-- caio:{card.idempotency_key} -->" in email.html
    assert shown["email-from"] == "Alex Rivera <alex.rivera@caio.example>" == email.from_line
    assert shown["email-to"] == email.to_line
    assert shown["email-subject"] == email.subject


def test_the_sandbox_receives_exactly_the_preview(client, hos, operator, ghl_sandbox, settings, redis_conn, django_capture_on_commit_callbacks):
    settings.REVIEW_UNDO_SECONDS = 0
    green_gates()
    card = make_card(campaign=sender_campaign())
    review.approve(card, user=hos)
    client.force_login(hos)
    shown = preview_of(client, card)

    with django_capture_on_commit_callbacks(execute=True):
        cycle = start_live_cycle(operator=operator)
    assert [line.pk for line in cycle.claimed] == [card.pk]
    assert send_card(card.pk).outcome == "sent"

    [delivered] = ghl_sandbox.deliveries()
    assert delivered["html"] == shown["html"]
    assert delivered["text"] == shown["email-body"]
    assert delivered["subject"] == shown["email-subject"]
    # The From line as GHL received it (its emailFrom), name and address both.
    assert delivered["from"] == shown["email-from"] == "Alex Rivera <alex.rivera@caio.example>"
    assert (delivered["from_name"], delivered["from_email"]) == ("Alex Rivera", "alex.rivera@caio.example")
    assert shown["email-to"].endswith(f"<{delivered['to'][0]}>")


def test_a_campaign_without_sender_fields_sends_from_the_settings(hos, settings):
    settings.SENDER_NAME, settings.SENDER_EMAIL = "Acme Outreach", "hello@acme.example"
    email = render(make_card())
    assert email.from_line == "Acme Outreach <hello@acme.example>"


def test_the_card_shows_the_lead_story(client, hos):
    first = make_card(age_hours=30)
    card = make_card(lead=first.lead, campaign=first.campaign, step_number=2)
    Reply.objects.create(
        lead=first.lead, card=first, text="Sounds interesting, can we talk Thursday?",
        ghl_message_id="reply-1", classification=Reply.Classification.INTERESTED,
    )
    EmailEvent.objects.create(lead=first.lead, card=first, kind=EmailEvent.Kind.OPENED)
    Suppression.objects.create(lead_id=first.lead_id, email=first.lead.email, kind=Suppression.Kind.DO_NOT_CONTACT, source="admin", note="asked once")
    client.force_login(hos)

    page = client.get(reverse("admin:outreach_pendingemail_change", args=[card.pk])).content.decode()

    assert "Sounds interesting, can we talk Thursday?" in page
    assert "Interested" in page
    assert "Opened" in page and "asked once" in page
    assert 'id="earlier-emails"' in page and first.subject in page
    assert 'id="enrollment"' in page


def test_the_queue_shows_each_body_opening_and_the_compliance_at_a_glance(client, hos):
    card = make_card(body="Hi Dana,\n\nWe help teams like yours cut reporting time in half.\n\nBest,\nAlex Rivera")
    client.force_login(hos)
    page = client.get(reverse("admin:outreach_pendingemail_changelist")).content.decode()
    assert "Hi Dana, We help teams like yours cut reporting time in half. Best, Alex Rivera" in page
    assert card.lead.company in page


def test_undo_from_the_card_page(client, hos, settings):
    settings.REVIEW_UNDO_SECONDS = 60
    card, following = make_card(age_hours=2), make_card(age_hours=1)
    client.force_login(hos)

    response = client.post(reverse("admin:outreach_pendingemail_approve", args=[card.pk]), {"seen_status": "pending"})
    assert response.url == reverse("admin:outreach_pendingemail_change", args=[following.pk])
    page = client.get(response.url).content.decode()
    assert 'id="undo-bar"' in page and reverse("admin:outreach_pendingemail_undo", args=[card.pk]) in page

    response = client.post(reverse("admin:outreach_pendingemail_undo", args=[card.pk]), {"seen_status": "approved"})
    assert response.url == reverse("admin:outreach_pendingemail_change", args=[card.pk])
    assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.PENDING
    page = client.get(response.url).content.decode()
    assert "is pending again" in page and 'id="undo-bar"' not in page


def test_undo_after_the_window_is_refused_with_the_reason(client, hos, settings):
    settings.REVIEW_UNDO_SECONDS = 0
    card = make_card()
    client.force_login(hos)
    client.post(reverse("admin:outreach_pendingemail_approve", args=[card.pk]), {"seen_status": "pending"})
    page = client.get(reverse("admin:outreach_pendingemail_change", args=[card.pk])).content.decode()
    assert 'id="undo-bar"' not in page

    response = client.post(reverse("admin:outreach_pendingemail_undo", args=[card.pk]), {"seen_status": "approved"}, follow=True)
    assert "Not undone: Too late to undo" in response.content.decode()
    assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.APPROVED


def page_queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # the first view stamps first_viewed_at; measure the views after it
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_card_page_and_the_queue_cost_the_same_however_long_the_lead_story(client, hos):
    client.force_login(hos)
    quiet = make_card(age_hours=2)
    quiet_url = reverse("admin:outreach_pendingemail_change", args=[quiet.pk])
    queue_url = reverse("admin:outreach_pendingemail_changelist")
    before = page_queries(client, quiet_url), page_queries(client, queue_url)

    busy = make_card(age_hours=1)
    for number in range(2, 4):
        earlier = make_card(lead=busy.lead, campaign=busy.campaign, step_number=number, status=CardStatus.REJECTED, rejection_tag=a_rejection_tag())
        EmailEvent.objects.create(lead=busy.lead, card=earlier, kind=EmailEvent.Kind.DELIVERED)
        Reply.objects.create(lead=busy.lead, card=earlier, text="Later, thanks", ghl_message_id=f"r{number}")
        Suppression.objects.create(lead_id=busy.lead_id, email=busy.lead.email, kind=Suppression.Kind.BOUNCED, source="ghl_webhook")
    for other in range(30):
        make_card(age_hours=1.5)
    busy_url = reverse("admin:outreach_pendingemail_change", args=[busy.pk])

    assert (page_queries(client, busy_url), page_queries(client, queue_url)) == before
