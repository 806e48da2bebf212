"""The shadow lane's promotion rule: gates with zero tolerance, half the pairs won or tied, no factual-risk rejection."""

from __future__ import annotations

import pytest

from outreach.drafting import shadow
from outreach.drafting.learning import accept_style_rule
from outreach.drafting.pipeline import run_pipeline
from outreach.models import CadenceStep, RejectionTag
from outreach.roles import HEAD_OF_SALES
from tests.factories import make_lead, make_user
from tests.model_drafting.conftest import make_model_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def candidate(model_sandbox):
    campaign = make_model_campaign()
    for company in ("Wpromote", "Globex", "Initech", "Umbrella"):
        make_lead(source="wpromote", company=company)
    run_pipeline(source="wpromote", limit=4, campaign_ref=campaign.ref, apply=True)
    step = campaign.steps.get(number=1)
    return accept_style_rule(step, "Keep it under 80 words.")


def test_ties_count_with_wins_and_a_factual_risk_rejection_refuses(candidate):
    reviewer = make_user(role=HEAD_OF_SALES)
    pairs = shadow.run_shadow(candidate)
    assert len(pairs) == 4 and shadow.gate_failures(candidate) == []
    weak = RejectionTag.objects.get(slug="weak_personalization")
    wrong = RejectionTag.objects.get(slug="wrong_person_company")
    shadow.decide(pairs[0], pick="left" if pairs[0].candidate_left else "right", user=reviewer)
    shadow.decide(pairs[1], pick="neither", user=reviewer, tag=weak)
    shadow.decide(pairs[2], pick="right" if pairs[2].candidate_left else "left", user=reviewer)
    shadow.decide(pairs[3], pick="neither", user=reviewer, tag=wrong)

    with pytest.raises(shadow.PromotionRefused, match="rejected for a factual risk"):
        shadow.promote(candidate)
    candidate.refresh_from_db()
    assert (candidate.evidence["candidate_wins"], candidate.evidence["ties"], candidate.evidence["baseline_wins"]) == (1, 2, 1)
    assert candidate.evidence["refused"] == [f"a draft was rejected for a factual risk ({pairs[3].case})"]


def test_undecided_pairs_or_a_failing_gate_refuse(candidate, model_sandbox, settings):
    settings.MODEL_CONCURRENCY = 1  # one request at a time, so the script's order is the leads' order
    model_sandbox.configure({"script": ["ok"] * 4 + ["banned_phrase"] * 3})  # the first candidate draft never passes
    pairs = shadow.run_shadow(candidate)
    assert "banned phrase" in pairs[0].candidate_draft["error"]
    with pytest.raises(shadow.PromotionRefused) as refused:
        shadow.promote(candidate)
    assert refused.value.reasons[0].startswith("the hard gates fail (1:")
    assert refused.value.reasons[1] == "4 of 4 pairs are not decided yet"
    assert CadenceStep.objects.get(pk=candidate.step_id).prompt_version == 1
