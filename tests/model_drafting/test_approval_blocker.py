"""An ungrounded claim blocks approval: the drafting check's rule, judged again on the card as it is at approval."""

from __future__ import annotations

import pytest

from outreach import review
from outreach.drafting.pipeline import run_pipeline
from outreach.models import CardStatus, PendingEmail
from outreach.roles import HEAD_OF_SALES
from tests.factories import make_lead, make_user
from tests.model_drafting.conftest import make_model_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def model_card(model_sandbox):
    campaign = make_model_campaign()
    make_lead(source="wpromote", company="Wpromote")
    [pk] = run_pipeline(source="wpromote", limit=1, campaign_ref=campaign.ref, apply=True).drafted
    return PendingEmail.objects.get(pk=pk)


def test_an_edit_that_adds_an_unsupported_figure_blocks_approval(model_card):
    editor, approver = make_user(role=HEAD_OF_SALES), make_user(role=HEAD_OF_SALES)
    assert review.approval_blockers(model_card, user=approver) == []
    review.edit(model_card, user=editor, subject=model_card.subject, body=model_card.body.replace("Would", "We saved Initech $2M. Would"))

    with pytest.raises(review.ReviewRefused, match=r"An ungrounded claim: ungrounded: 2m, initech appear in no cited fact"):
        review.approve(model_card, user=approver)
    assert PendingEmail.objects.get(pk=model_card.pk).status == CardStatus.PENDING


def test_a_grounded_model_card_is_approved(model_card):
    approved = review.approve(model_card, user=make_user(role=HEAD_OF_SALES))
    assert approved.status == CardStatus.APPROVED
