"""Acceptance 3: a candidate prompt version goes through the shadow lane end to end in the browser.

The desk's edit becomes a proposed style rule; accepting it makes a candidate;
the candidate is replayed on the frozen set (outputs recorded: a rerun asks
the model nothing), the hard gates pass, blind pairs are decided in the
browser, promotion is refused when it loses and allowed when it wins, and
rollback restores the previous version."""

from __future__ import annotations

import pytest

from outreach import review
from outreach.drafting import shadow
from outreach.drafting.pipeline import run_pipeline
from outreach.drafting.prompts import current_version
from outreach.models import CadenceStep, PromptVersion, ShadowPair
from outreach.roles import HEAD_OF_SALES
from tests.factories import make_lead, make_user
from tests.model_drafting.conftest import make_model_campaign, model_sandbox  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def decide_all(page, candidate: PromptVersion, *, for_candidate: bool) -> None:
    """Decide every pair in the browser, as a reviewer would, picking the side the test wants."""
    while page.locator("#pair-form").count():
        pair = ShadowPair.objects.get(pk=page.locator("#pair-form").get_attribute("data-pair"))
        # The page names neither version: only the test knows which side is the candidate.
        assert "candidate" not in page.locator("#pair-form").inner_text().lower()
        candidate_side = "left" if pair.candidate_left else "right"
        other_side = "right" if candidate_side == "left" else "left"
        page.click(f"#pick-{candidate_side if for_candidate else other_side}")
        page.wait_for_load_state()


def test_a_candidate_prompt_earns_its_promotion_in_the_shadow_lane(seeded, model_sandbox, page, live_server, login, screenshots):
    hos, editor = make_user("celia", role=HEAD_OF_SALES), make_user("sam", role=HEAD_OF_SALES)
    campaign = make_model_campaign()
    step = campaign.steps.get(number=1)
    for company in ("Wpromote", "Globex", "Initech", "Umbrella"):
        make_lead(source="wpromote", company=company)
    run_pipeline(source="wpromote", limit=4, campaign_ref=campaign.ref, apply=True)
    cards = list(step.cards.order_by("pk"))
    # The desk: one card's opener cut before approval, one approved, one rejected.
    edited = cards[0]
    review.edit(edited, user=editor, subject=edited.subject, body=edited.body.replace("I am writing because Wpromote", "Wpromote"))
    review.approve(cards[1], user=hos)
    review.reject(cards[2], user=hos, tag="weak_personalization", note="")
    first = current_version(step)
    login(hos)

    page.goto(f"{live_server.url}/admin/outreach/promptversion/{first.pk}/change/")
    rule = "Never open with a line like “I am writing because Wpromote looks like a team we could help.”"
    assert rule in page.locator("#proposals").inner_text()
    page.locator("#proposals li", has_text=rule).locator("button").click()
    page.wait_for_selector("#run-shadow")
    candidate = PromptVersion.objects.get(state="candidate")
    assert rule in candidate.style_rules and CadenceStep.objects.get(pk=step.pk).prompt_version == first.number

    # Replay on the frozen set, then a rerun reads the recorded outputs back.
    page.click("#run-shadow button")
    page.wait_for_selector("#pair-form")
    asked = sum(model_sandbox.stats.values())
    assert len(shadow.run_shadow(candidate)) == 4 and sum(model_sandbox.stats.values()) == asked
    assert page.locator("#gates").inner_text().startswith("Hard gates: pass")
    assert "I am writing because" not in ShadowPair.objects.filter(candidate=candidate).first().candidate_draft["body"]
    page.screenshot(path=str(screenshots / "shadow-lane-pair.png"), full_page=True)

    # It loses every pair: promotion refused, with the evidence kept and shown.
    decide_all(page, candidate, for_candidate=False)
    page.click("#promote-button")
    page.wait_for_selector(".messagelist .error")
    assert "Promotion refused: the candidate won or tied 0 of 4 pairs; it needs at least half" in page.locator(".messagelist").inner_text()
    assert "candidate won 0, version in use won 4" in page.locator("#evidence-summary").inner_text()
    assert CadenceStep.objects.get(pk=step.pk).prompt_version == first.number

    # The same rule again, a new candidate that wins: promoted, and the step drafts with it.
    page.goto(f"{live_server.url}/admin/outreach/promptversion/{first.pk}/change/")
    page.locator("#proposals li", has_text=rule).locator("button").click()
    page.click("#run-shadow button")
    page.wait_for_selector("#pair-form")
    winner = PromptVersion.objects.filter(state="candidate").order_by("-number").first()
    decide_all(page, winner, for_candidate=True)
    page.click("#promote-button")
    page.wait_for_selector(".messagelist .success")
    step.refresh_from_db()
    assert step.prompt_version == winner.number
    assert "candidate won 4, version in use won 0" in page.locator("#evidence-summary").inner_text()
    page.screenshot(path=str(screenshots / "shadow-lane-promoted.png"), full_page=True)

    # Rollback in one step.
    page.click("#rollback-button")
    page.wait_for_selector(".messagelist .success")
    step.refresh_from_db()
    assert step.prompt_version == first.number and current_version(step).style_rules == first.style_rules
    assert PromptVersion.objects.get(pk=winner.pk).state == "retired"
