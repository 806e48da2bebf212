"""Acceptance 2: a model-drafted card shows its evidence in the browser, and an ungrounded claim blocks approval."""

from __future__ import annotations

import pytest

from outreach.drafting.pipeline import run_pipeline
from outreach.models import CardStatus, PendingEmail
from outreach.roles import HEAD_OF_SALES
from tests.factories import make_lead, make_user
from tests.model_drafting.conftest import OFFER, PROOF, make_model_campaign, model_sandbox  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_model_card_shows_claims_marked_with_facts_and_an_ungrounded_one_blocks_approval(
    seeded, model_sandbox, page, live_server, login, screenshots
):
    hos = make_user("celia", role=HEAD_OF_SALES)
    campaign = make_model_campaign()
    make_lead(source="wpromote", company="Wpromote", email="ana@wpromote.example")
    make_lead(source="wpromote", company="Globex", email="bo@globex.example")
    # The first lead's first draft invents a funding round: caught, retried, and grounded the second time.
    model_sandbox.configure({"script": ["invented_claim", "ok", "ok"]})
    report = run_pipeline(source="wpromote", limit=5, campaign_ref=campaign.ref, apply=True)
    assert report.errors == [] and len(report.drafted) == 2
    grounded = PendingEmail.objects.get(lead__email="ana@wpromote.example")
    assert grounded.draft_attempts == 2
    login(hos)

    page.goto(f"{live_server.url}/admin/outreach/pendingemail/{grounded.pk}/change/")
    marks = page.locator("#evidence-body mark.claim")
    assert sorted(marks.evaluate_all("els => els.map(e => e.dataset.fact)")) == sorted([OFFER, PROOF, "lead.company"])
    proof = page.locator(f"#evidence-body mark.claim[data-fact={PROOF}]")
    assert proof.inner_text() == "Northwind cut review time by 40% in its first month"
    assert proof.get_attribute("title") == f"{PROOF}: Northwind cut review time by 40% in its first month"
    assert "A 30-day pilot of CAIO for one sales team" in page.locator(f"#cited-facts li[data-fact={OFFER}]").inner_text()
    assert page.locator("#evidence-prompt-version").inner_text() == f"{campaign.ref}:s1:p1"
    assert page.locator("#evidence-model").inner_text() == "caio-sandbox-1"
    assert page.locator("#evidence-cost").inner_text() == f"${grounded.cost:.6f}"
    assert page.locator("#evidence-drafter").inner_text() == "model"
    assert "ungrounded: 40m, globex, series, b appear in no cited fact" in page.locator("#evidence-caught").inner_text()
    assert page.locator("#approval-blockers").count() == 0
    assert page.locator("#approve-button").is_enabled()
    page.screenshot(path=str(screenshots / "model-card-evidence.png"), full_page=True)

    # The Head of Sales withdraws the proof point: the other card's claim now rests on no fact.
    campaign.facts = campaign.facts.replace("proof: Northwind cut review time by 40% in its first month\n", "")
    campaign.save()
    other = PendingEmail.objects.get(lead__email="bo@globex.example")
    page.goto(f"{live_server.url}/admin/outreach/pendingemail/{other.pk}/change/")
    blockers = page.locator("#approval-blockers").inner_text()
    assert "An ungrounded claim" in blockers and f"cites '{PROOF}', which is not a fact on the sheet" in blockers
    assert "ungrounded: 40%, northwind appear in no cited fact" in blockers
    assert page.locator("#approve-button").is_disabled()
    assert page.locator(f"#evidence-body mark.claim[data-fact={PROOF}]").get_attribute("title") == f"{PROOF}: (no such fact now)"
    page.screenshot(path=str(screenshots / "model-card-ungrounded.png"), full_page=True)
    # A crafted approval without the browser's disabled button is refused by the server.
    page.eval_on_selector("#approve-button", "el => el.removeAttribute('disabled')")
    page.click("#approve-button")
    page.wait_for_selector(".messagelist .error")
    assert "ungrounded claim" in page.locator(".messagelist").inner_text()
    assert PendingEmail.objects.get(pk=other.pk).status == CardStatus.PENDING
