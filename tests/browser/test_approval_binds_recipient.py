"""The approval binds the recipient: the Head of Sales approves a card, then the lead's address is changed in the lead admin."""

from __future__ import annotations

import pytest

from outreach.models import CardStatus, CardTransition, PendingEmail
from outreach.roles import HEAD_OF_SALES, OPERATOR
from tests.factories import make_card, make_lead, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_changing_the_lead_s_address_after_approval_sends_the_card_back_to_review(seeded, page, live_server, login, screenshots):
    hos = make_user("celia", role=HEAD_OF_SALES)
    card = make_card(lead=make_lead(email="a@acme.example", first_name="Ann", last_name="Lee"))
    login(hos)

    page.goto(f"{live_server.url}/admin/outreach/pendingemail/{card.pk}/change/")
    covers = page.locator("#approval-covers").inner_text()
    assert "Approving covers" in covers and "Ann Lee <a@acme.example>" in covers
    page.click("#approve-button")
    page.wait_for_selector(".messagelist")
    assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.APPROVED
    page.goto(f"{live_server.url}/admin/outreach/pendingemail/{card.pk}/change/")
    covers = page.locator("#approval-covers").inner_text()
    assert "This approval covers" in covers and "Ann Lee <a@acme.example>" in covers and "Sender" in covers
    page.screenshot(path=str(screenshots / "approval-covers.png"), full_page=True)

    # Someone else changes the lead's address in the lead admin; the GHL contact id is not a form field.
    page.context.clear_cookies()
    login(make_user("pto", role=OPERATOR))
    page.goto(f"{live_server.url}/admin/outreach/lead/{card.lead_id}/change/")
    assert page.locator("input[name=ghl_contact_id]").count() == 0
    page.fill("#id_email", "victim-ceo@bigcustomer.example")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")

    card = PendingEmail.objects.get(pk=card.pk)
    assert card.status == CardStatus.PENDING
    assert (card.reviewed_by, card.approved_content_hash) == (None, "")
    last = CardTransition.objects.filter(card=card).last()
    assert (last.from_status, last.to_status) == (CardStatus.APPROVED, CardStatus.PENDING)
    assert last.reason.startswith("recipient changed after approval")
