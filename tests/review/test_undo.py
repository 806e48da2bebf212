"""Undo: a reviewer takes back their own decision within seconds, and nothing claims it meanwhile."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from outreach import eligibility, review
from outreach.models import CardStatus, CardTransition, RejectionTag
from outreach.review import ReviewRefused
from outreach.roles import HEAD_OF_SALES
from outreach.sending.select import dry_run
from tests.dispatch.helpers import green_gates
from tests.factories import make_card, make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def ten_second_window(settings):
    settings.REVIEW_UNDO_SECONDS = 10


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_an_approval_undone_within_the_window_is_pending_again(hos, clock):
    card = make_card()
    review.approve(card, user=hos)
    clock.shift(9)

    review.undo(card, user=hos)

    card.refresh_from_db()
    assert card.status == CardStatus.PENDING
    assert (card.reviewed_by, card.reviewed_at, card.approved_content_hash) == (None, None, "")
    steps = list(CardTransition.objects.filter(card=card).values_list("from_status", "to_status", "actor"))
    assert steps == [("pending", "approved", hos.pk), ("approved", "pending", hos.pk)]
    # Pending again, it can be decided afresh.
    review.approve(card, user=hos)
    assert card.status == CardStatus.APPROVED


def test_a_rejection_undone_within_the_window_loses_its_tag(hos, clock):
    card = make_card()
    review.reject(card, user=hos, tag="weak_personalization", note="bland")
    clock.shift(3)

    review.undo(card, user=hos)

    card.refresh_from_db()
    assert card.status == CardStatus.PENDING
    assert (card.rejection_tag, card.rejection_note, card.reviewed_by) == (None, "", None)


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_undo_is_refused_once_the_window_has_passed(hos, clock, decide):
    card = make_card()
    if decide == "approve":
        review.approve(card, user=hos)
    else:
        review.reject(card, user=hos, tag="weak_personalization")
    clock.shift(10)

    with pytest.raises(ReviewRefused, match="Too late to undo: a decision can be undone for 10 seconds") as refused:
        review.undo(card, user=hos)

    assert refused.value.code == "too_late"
    card.refresh_from_db()
    assert card.status != CardStatus.PENDING


def test_only_the_reviewer_may_undo(hos, clock):
    card = make_card()
    review.approve(card, user=hos)
    other = make_user("another-hos", role=HEAD_OF_SALES)

    with pytest.raises(ReviewRefused, match="Only the person who decided") as refused:
        review.undo(card, user=other)

    assert refused.value.code == "not_yours"
    card.refresh_from_db()
    assert card.status == CardStatus.APPROVED


def test_a_pending_or_cleanup_rejected_card_has_nothing_to_undo(hos, clock):
    pending = make_card()
    with pytest.raises(ReviewRefused, match="cannot be undone"):
        review.undo(pending, user=hos)
    # A system rejection has no reviewer: no person can take it back.
    swept = make_card(status=CardStatus.REJECTED, rejection_tag=RejectionTag.objects.get(slug=RejectionTag.HYGIENE))
    with pytest.raises(ReviewRefused, match="Only the person who decided"):
        review.undo(swept, user=hos)


def test_undo_needs_the_review_permission(outsider, hos, clock):
    card = make_card()
    review.approve(card, user=hos)
    with pytest.raises(ReviewRefused, match="not allowed to undo decisions"):
        review.undo(card, user=outsider)


def test_a_rejection_whose_step_was_redrafted_stays_rejected(hos, clock):
    card = make_card()
    review.reject(card, user=hos, tag="weak_personalization")
    make_card(lead=card.lead, campaign=card.campaign)

    with pytest.raises(ReviewRefused, match="newer draft") as refused:
        review.undo(card, user=hos)

    assert refused.value.code == "redrafted"
    card.refresh_from_db()
    assert card.status == CardStatus.REJECTED


def test_a_card_in_its_undo_window_is_held_back_from_the_claim(hos, clock):
    green_gates()
    card = make_card()
    review.approve(card, user=hos)

    plan = dry_run(check_redis=False)
    assert [line.pk for line in plan.selected] == []
    held = {line.pk: line for line in plan.held_back}
    assert held[card.pk].verdict == "undo_window"
    assert eligibility.judge_one(card).reasons == ["undo_window"]
    assert eligibility.count_by_reason(eligibility.open_cards(), eligibility.Conditions.current())["undo_window"] == 1

    clock.shift(10)
    assert [line.pk for line in dry_run(check_redis=False).selected] == [card.pk]
    assert eligibility.judge_one(card).eligible


def test_the_window_is_a_setting(hos, clock, settings):
    settings.REVIEW_UNDO_SECONDS = 0
    card = make_card()
    review.approve(card, user=hos)
    assert eligibility.judge_one(card).eligible
    with pytest.raises(ReviewRefused, match="Too late"):
        review.undo(card, user=hos)
