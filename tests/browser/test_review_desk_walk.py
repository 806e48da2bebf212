"""The Head of Sales works ten cards by keyboard, undoes one, and the sandbox receives exactly what was previewed."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from playwright.sync_api import expect
from django.utils import timezone

from outreach.models import CardStatus, PendingEmail
from outreach.roles import HEAD_OF_SALES, OPERATOR
from outreach.sending.job import send_card
from outreach.sending.select import start_live_cycle
from tests.dispatch.helpers import green_gates
from tests.factories import make_campaign, make_card, make_lead, make_user

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

UNDO_SECONDS = 60


def card_url(live_server, card: PendingEmail) -> str:
    return f"{live_server.url}/admin/outreach/pendingemail/{card.pk}/change/"


def read_preview(page) -> dict[str, str]:
    """What the page shows as the email: the From line, subject, plain-text part and HTML part."""
    return {
        "from": page.locator("#email-from").text_content(),
        "subject": page.locator("#email-subject").text_content(),
        # The parser drops the newline that follows <pre>: textContent is the part as sent.
        "text": page.locator("#email-body").text_content(),
        "html": page.get_attribute("#email-html", "srcdoc"),
    }


def test_ten_cards_by_keyboard_with_one_undo_then_sent_as_previewed(
    seeded, page, live_server, login, screenshots, ghl_sandbox, redis_conn, settings, django_capture_on_commit_callbacks
):
    settings.REVIEW_UNDO_SECONDS = UNDO_SECONDS
    hos, operator = make_user("celia", role=HEAD_OF_SALES), make_user("pto", role=OPERATOR)
    campaign = make_campaign(ref="spring", sender_name="Alex Rivera", sender_email="alex.rivera@caio.example")
    cards = [
        make_card(campaign=campaign, age_hours=10 - n, lead=make_lead(first_name=name, company=f"{name} & Co"))
        for n, name in enumerate(["Ada", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ida", "Jo"])
    ]
    # Before anyone opens the admin: the index creates today's ramp day from the policy.
    green_gates(daily_cap=20)
    login(hos)

    page.goto(f"{live_server.url}/admin/outreach/pendingemail/")
    assert page.locator("#result_list tbody tr").count() == 10
    # The filters start folded: the queue is the page.
    assert not page.locator("#changelist-filter").is_visible()
    # Each row shows the opening of its email, not just the subject.
    assert " ".join(cards[0].body.split())[:60] in page.locator("#result_list").inner_text()
    page.screenshot(path=str(screenshots / "review-desk-queue.png"), full_page=True)
    page.click("#filter-toggle")
    assert page.locator("#changelist-filter").is_visible()
    page.click("#filter-toggle")

    page.click(f"#result_list a[href$='/{cards[0].pk}/change/']")
    previews: dict[int, dict[str, str]] = {}

    def decide(card: PendingEmail, key: str) -> None:
        page.wait_for_url(card_url(live_server, card))
        previews[card.pk] = read_preview(page)
        assert page.locator("#desk-queue li.current").inner_text().startswith(card.subject)
        if key == "a":
            page.keyboard.press("a")
        else:
            page.keyboard.press("r")
            assert page.evaluate("document.activeElement.id") == "reject-tag"
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Tab")
            page.keyboard.type("Too generic")
            page.keyboard.press("Enter")

    decide(cards[0], "a")
    decide(cards[1], "r")
    decide(cards[2], "a")
    # A stray approval of the third card: undone from the next card's page by one key.
    page.wait_for_url(card_url(live_server, cards[3]))
    assert "Approved" in page.locator("#undo-bar").inner_text()
    page.screenshot(path=str(screenshots / "review-desk-card.png"), full_page=True)
    page.keyboard.press("u")
    page.wait_for_url(card_url(live_server, cards[2]))
    assert "is pending again" in page.locator(".messagelist").inner_text()
    assert PendingEmail.objects.get(pk=cards[2].pk).status == CardStatus.PENDING
    decide(cards[2], "r")
    # Moving to the next card swaps it in without a page load (the page's own state survives)...
    page.wait_for_url(card_url(live_server, cards[3]))
    page.evaluate("window.__same_document = true")
    page.keyboard.press("n")
    page.wait_for_url(card_url(live_server, cards[4]))
    # Waited for by the locator, not a polled expression: the page's CSP refuses the eval that polling needs.
    expect(page.locator("#email-subject")).to_have_text(cards[4].subject)
    assert page.evaluate("window.__same_document") is True
    assert read_preview(page)["subject"] == cards[4].subject
    # ...and so does the queue beside the card: back to the card we skipped.
    page.click(f"#desk-queue a[data-card='{cards[3].pk}']")
    expect(page.locator("#email-subject")).to_have_text(cards[3].subject)
    assert page.evaluate("window.__same_document") is True
    for card in cards[3:]:
        decide(card, "a")
    page.wait_for_url(f"{live_server.url}/admin/outreach/pendingemail/")
    assert "No eligible card is left" in page.locator(".messagelist").inner_text()

    statuses = dict(PendingEmail.objects.values_list("pk", "status"))
    rejected = {cards[1].pk, cards[2].pk}
    assert {pk for pk, status in statuses.items() if status == CardStatus.REJECTED} == rejected
    approved = [card for card in cards if card.pk not in rejected]
    assert all(statuses[card.pk] == CardStatus.APPROVED for card in approved)
    assert PendingEmail.objects.get(pk=cards[1].pk).rejection_note == "Too generic"

    # Within the undo window no cycle claims them; once it has passed, a live cycle sends them to the sandbox.
    with django_capture_on_commit_callbacks(execute=True):
        assert start_live_cycle(operator=operator).claimed == []
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=UNDO_SECONDS + 1)):
        with django_capture_on_commit_callbacks(execute=True):
            cycle = start_live_cycle(operator=operator)
        assert sorted(line.pk for line in cycle.claimed) == sorted(card.pk for card in approved)
        for line in cycle.claimed:
            assert send_card(line.pk).outcome == "sent"

    delivered = ghl_sandbox.deliveries()
    assert len(delivered) == len(approved) == 8
    for card in approved:
        card.refresh_from_db()
        [received] = [d for d in delivered if d["message_id"] == card.ghl_message_id]
        shown = previews[card.pk]
        assert received["html"] == shown["html"]
        assert received["text"] == shown["text"]
        assert received["subject"] == shown["subject"]
        # The From line is compared as GHL received it: the emailFrom carries the name.
        assert received["from"] == shown["from"] == "Alex Rivera <alex.rivera@caio.example>"
        assert (received["from_name"], received["from_email"]) == ("Alex Rivera", "alex.rivera@caio.example")
