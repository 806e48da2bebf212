"""A lead at a look-alike domain, in a real browser: its card is held back until a person confirms the lead."""

from __future__ import annotations

import pytest

from compliance.models import DoNotContact
from outreach import eligibility
from outreach.drafting.pipeline import run_pipeline
from outreach.models import Lead, PendingEmail
from outreach.roles import HEAD_OF_SALES
from tests.factories import make_campaign, make_lead, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# "аcme" with a Cyrillic а: another domain than acme.example, which reads the same.
MIXED = "\u0430cme.example"


def test_a_mixed_script_leads_card_is_held_back_until_a_person_confirms_the_lead(seeded, page, live_server, login, screenshots):
    hos = make_user("celia", role=HEAD_OF_SALES)
    listed = DoNotContact(reason="asked by phone")
    listed.set_entry("*@acme.example")
    listed.save()
    campaign = make_campaign(ref="spring")
    lead = make_lead(email=f"jdoe@{MIXED}", source="lookalike")
    run_pipeline(source="lookalike", limit=1, campaign_ref=campaign.ref, apply=True)
    card = PendingEmail.objects.get(lead=lead)
    assert eligibility.judge_one(card).reason == "lookalike_domain"
    login(hos)

    page.goto(f"{live_server.url}/admin/outreach/pendingemail/{card.pk}/change/")
    verdict = page.locator("#verdict")
    assert "Held back: lookalike_domain" in verdict.inner_text()
    warning = page.locator("#lookalike-warning")
    assert "reads as acme.example, a do-not-contact domain" in warning.inner_text()
    assert f"jdoe@{MIXED} (xn--cme-5cd.example)" in page.locator("#lookalike-address").inner_text()
    assert f"{MIXED} (xn--cme-5cd.example)" in page.locator("#lead-email").inner_text()
    page.screenshot(path=str(screenshots / "lookalike-card.png"), full_page=True)

    page.click("#confirm-lookalike")
    page.wait_for_selector("#lookalike-confirmed")

    assert page.url.endswith(f"/pendingemail/{card.pk}/change/")
    assert page.locator("#verdict").inner_text() == "Eligible"
    assert "Confirmed by celia" in page.locator("#lookalike-confirmed").inner_text()
    confirmed = Lead.objects.get(pk=lead.pk)
    assert confirmed.lookalike_confirmed_by == hos and confirmed.lookalike_confirmed_at is not None
    assert eligibility.judge_one(card).eligible

    # The lead page shows the same warning, in both forms, and who confirmed it.
    page.goto(f"{live_server.url}/admin/outreach/lead/{lead.pk}/change/")
    assert "Look-alike domain" in page.locator("#lookalike-warning").inner_text()
    assert "Confirmed by celia" in page.locator("#lookalike-confirmed").inner_text()
    assert page.locator("#confirm-lookalike").count() == 0
