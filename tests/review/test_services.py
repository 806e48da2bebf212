"""The review services: every entry point (admin, bulk, API) goes through these rules."""

from __future__ import annotations

import pytest
from django.utils import timezone

from compliance.models import DoNotContact
from outreach import review
from outreach.models import CardStatus, CardTransition, RejectionTag, Tier
from outreach.review import ReviewRefused
from tests.factories import make_campaign, make_card, make_lead, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def tag():
    return RejectionTag.objects.get(slug="weak_personalization")


def test_it_approves_a_compliant_pending_card(hos):
    card = make_card()

    review.approve(card, user=hos)

    card.refresh_from_db()
    assert card.status == CardStatus.APPROVED
    assert card.approved_content_hash == card.content_hash()
    assert card.reviewed_by == hos and card.reviewed_at is not None
    assert card.compliance["passed"] is True and card.compliance_passed
    transition = CardTransition.objects.get(card=card)
    assert (transition.from_status, transition.to_status, transition.actor) == ("pending", "approved", hos)


def test_it_approves_a_shadow_card(hos):
    # Shadow cards are reviewed like any other; the dispatcher is what never sends them.
    card = make_card(is_shadow=True)
    review.approve(card, user=hos)
    assert card.status == CardStatus.APPROVED


def test_it_refuses_to_approve_a_stale_card(hos, settings):
    settings.PENDING_QUEUE_MAX_AGE_HOURS = 72
    card = make_card(age_hours=73)

    with pytest.raises(ReviewRefused, match="stale") as refused:
        review.approve(card, user=hos)

    assert "72-hour" in refused.value.reason
    card.refresh_from_db()
    assert card.status == CardStatus.PENDING and not CardTransition.objects.exists()


def test_it_refuses_a_non_compliant_card_and_keeps_the_failing_snapshot(hos):
    card = make_card(footer="")

    with pytest.raises(ReviewRefused) as refused:
        review.approve(card, user=hos)

    assert refused.value.code == "compliance"
    assert "Opt-out line" in refused.value.reason and "Canonical footer" in refused.value.reason
    card.refresh_from_db()
    assert card.status == CardStatus.PENDING
    # The snapshot of the failing run is stored so the card page shows the reason.
    assert card.compliance["passed"] is False and card.compliance_passed is False


def test_it_refuses_a_card_with_placeholders(hos):
    card = make_card(body="Hi {first_name},\n\nShall we talk?")
    with pytest.raises(ReviewRefused, match="placeholder"):
        review.approve(card, user=hos)


@pytest.mark.parametrize(
    "suppress",
    [
        {"unsubscribed_at": timezone.now()},
        {"bounced_at": timezone.now()},
        {"do_not_contact": True, "do_not_contact_reason": "asked us"},
    ],
    ids=["unsubscribed", "bounced", "do-not-contact"],
)
def test_it_refuses_a_suppressed_lead(hos, suppress):
    card = make_card(lead=make_lead(**suppress))
    code = {"unsubscribed_at": "unsubscribed", "bounced_at": "bounced"}.get(next(iter(suppress)), "do_not_contact")
    with pytest.raises(ReviewRefused, match=rf"Held back \({code}\)"):
        review.approve(card, user=hos)
    card.refresh_from_db()
    assert card.status == CardStatus.PENDING


def test_it_refuses_a_lead_on_the_do_not_contact_list(hos):
    # Suppression that only compliance knows about (the DNC list) still blocks approval.
    card = make_card()
    DoNotContact.objects.create(email=card.lead.email)
    with pytest.raises(ReviewRefused, match="do-not-contact"):
        review.approve(card, user=hos)


def test_it_refuses_the_second_of_two_reviewers(hos, tag):
    other = make_user("hos2", role="Head of Sales")
    card = make_card()
    seen_by_first = type(card).objects.get(pk=card.pk)
    seen_by_second = type(card).objects.get(pk=card.pk)

    review.approve(seen_by_first, user=hos)
    with pytest.raises(ReviewRefused, match="someone else acted on it first") as refused:
        review.reject(seen_by_second, user=other, tag=tag)

    assert refused.value.code == "state_changed"
    card.refresh_from_db()
    assert card.status == CardStatus.APPROVED and card.rejection_tag is None
    assert CardTransition.objects.filter(card=card).count() == 1


def test_it_refuses_a_second_approval(hos):
    other = make_user("hos2", role="Head of Sales")
    card = make_card()
    stale_copy = type(card).objects.get(pk=card.pk)
    review.approve(card, user=hos)
    with pytest.raises(ReviewRefused, match="someone else acted on it first"):
        review.approve(stale_copy, user=other)
    card.refresh_from_db()
    assert card.reviewed_by == hos


def test_it_refuses_approval_when_the_content_changed_since_it_was_read(hos):
    card = make_card()
    seen_hash = card.content_hash()
    type(card).objects.filter(pk=card.pk).update(body=card.body + "\nP.S. new line")
    with pytest.raises(ReviewRefused, match="changed since you opened it"):
        review.approve(card, user=hos, seen_content_hash=seen_hash)


def test_it_refuses_reviewers_without_the_permission(outsider, tag):
    card = make_card()
    with pytest.raises(ReviewRefused, match="not allowed to approve"):
        review.approve(card, user=outsider)
    with pytest.raises(ReviewRefused, match="not allowed to reject"):
        review.reject(card, user=outsider, tag=tag)


@pytest.mark.parametrize("missing", [None, "", "no-such-tag"])
def test_it_refuses_to_reject_without_a_tag(hos, missing):
    card = make_card()
    with pytest.raises(ReviewRefused) as refused:
        review.reject(card, user=hos, tag=missing, note="bad copy")
    assert refused.value.code == "tag_required"
    card.refresh_from_db()
    assert card.status == CardStatus.PENDING


def test_it_refuses_the_system_tag_and_retired_tags_to_people(hos):
    card = make_card()
    with pytest.raises(ReviewRefused, match="reserved for queue cleanup"):
        review.reject(card, user=hos, tag=RejectionTag.HYGIENE)
    retired = RejectionTag.objects.create(slug="old", label="Old reason", active=False)
    with pytest.raises(ReviewRefused, match="retired"):
        review.reject(card, user=hos, tag=retired)
    assert set(review.reviewer_tags().values_list("system", "active").distinct()) == {(False, True)}


def test_it_rejects_with_tag_and_note(hos, tag):
    card = make_card()
    review.reject(card, user=hos, tag="weak_personalization", note="  Generic opener  ")
    card.refresh_from_db()
    assert card.status == CardStatus.REJECTED
    assert card.rejection_tag == tag and card.rejection_note == "Generic opener"
    assert card.reviewed_by == hos
    # The history says the reason as the reviewer chose it, not its code.
    assert CardTransition.objects.get(card=card).reason == f"Rejected in review: {tag.label}. Generic opener"


def test_the_approved_card_page_shows_no_approval_refusal(hos, client):
    card = make_card(template_version="spring-2026:s1:v3")
    review.approve(card, user=hos)
    client.force_login(hos)

    page = client.get(f"/admin/outreach/pendingemail/{card.pk}/change/").content.decode()

    assert "only pending cards can be approved" not in page
    assert "template spring-2026:s1:v3" in page and "template vspring" not in page


def test_it_rejects_an_approved_card(hos, tag):
    card = make_card(status=CardStatus.APPROVED)
    review.reject(card, user=hos, tag=tag)
    assert card.status == CardStatus.REJECTED


def test_it_refuses_to_reject_a_queued_card(hos, tag):
    card = make_card(status=CardStatus.QUEUED)
    with pytest.raises(ReviewRefused, match="cannot be rejected"):
        review.reject(card, user=hos, tag=tag)


def test_an_edit_records_the_editor_and_reruns_compliance(hos):
    card = make_card()
    review.edit(card, user=hos, subject="New subject", body="Hello {first_name}")
    card.refresh_from_db()
    assert (card.subject, card.body) == ("New subject", "Hello {first_name}")
    assert card.last_edited_by == hos and card.edited_at is not None
    assert card.compliance_passed is False
    assert card.status == CardStatus.PENDING and not CardTransition.objects.exists()


def test_an_edit_after_approval_returns_the_card_to_review(hos):
    approver = make_user("approver", role="Head of Sales")
    card = make_card()
    review.approve(card, user=approver)

    review.edit(card, user=hos, subject=card.subject, body=card.body + "\nOne more line.")

    card.refresh_from_db()
    assert card.status == CardStatus.PENDING
    assert card.approved_content_hash == "" and card.reviewed_by is None
    assert list(CardTransition.objects.filter(card=card).values_list("to_status", flat=True)) == ["approved", "pending"]


def test_an_unchanged_edit_does_nothing(hos):
    card = make_card(status=CardStatus.APPROVED)
    review.edit(card, user=hos, subject=card.subject, body=card.body)
    card.refresh_from_db()
    assert card.status == CardStatus.APPROVED and card.last_edited_by is None


def test_it_refuses_to_edit_a_queued_card_or_blank_content(hos):
    with pytest.raises(ReviewRefused, match="cannot be edited"):
        review.edit(make_card(status=CardStatus.QUEUED), user=hos, subject="s", body="b")
    with pytest.raises(ReviewRefused, match="cannot be empty"):
        review.edit(make_card(), user=hos, subject=" ", body="b")


def test_four_eyes_the_editor_cannot_approve(hos):
    other = make_user("hos2", role="Head of Sales")
    card = make_card()
    review.edit(card, user=hos, subject="Better subject", body=card.body)

    with pytest.raises(ReviewRefused, match="four eyes"):
        review.approve(card, user=hos)
    review.approve(card, user=other)
    assert card.status == CardStatus.APPROVED


def test_the_split_attributes_each_excluded_card_to_one_reason(settings):
    from ramp.models import RampPolicy

    policy = RampPolicy.get()
    policy.allowed_tiers = ["tier_1"]
    policy.save()
    eligible = [make_card(), make_card()]
    make_card(age_hours=100)  # stale
    make_card(age_hours=100, is_canary=True)  # stale first
    make_card(is_canary=True)
    make_card(is_shadow=True)
    make_card(lead=make_lead(tier=Tier.TIER_2), campaign=make_campaign(tier=Tier.TIER_2, classifier="outbound_tier_2"))
    make_card(lead=make_lead(tier=Tier.TIER_2))  # a tier_1 campaign: mislabelled before anything else
    make_card(status=CardStatus.SENT, sent_at=timezone.now())  # not pending at all

    split = review.queue_split()

    held_back = {code: count for code, count in split.items() if count and code not in ("pending", "eligible")}
    assert (split["pending"], split["eligible"]) == (8, 2)
    assert held_back == {"stale": 2, "canary": 1, "shadow": 1, "tier_not_sendable": 1, "classifier_mismatch": 1}
    assert list(review.eligible_cards()) == eligible
    for name in review.SLICES:
        assert review.queue_slice(None, name).count() == split[name]


def test_next_eligible_goes_forward_then_wraps():
    first, second, third = make_card(age_hours=3), make_card(age_hours=2), make_card(age_hours=1)
    assert review.next_eligible(first) == second
    assert review.next_eligible(third) == first
    assert review.next_eligible(None) == first


def test_sla_states_and_breaches(settings):
    settings.REVIEW_FIRST_SLA_MINUTES = 30
    settings.REVIEW_DECISION_SLA_MINUTES = 120
    fresh = make_card(age_hours=0.1)
    unseen = make_card(age_hours=1)
    seen = make_card(age_hours=1, first_viewed_at=timezone.now())
    late = make_card(age_hours=3, first_viewed_at=timezone.now())

    states = {card.pk: review.sla_state(card) for card in (fresh, unseen, seen, late)}

    assert states == {
        fresh.pk: review.SLA_OK,
        unseen.pk: review.SLA_FIRST_REVIEW_OVERDUE,
        seen.pk: review.SLA_OK,
        late.pk: review.SLA_DECISION_OVERDUE,
    }
    assert review.sla_breaches() == {"first_review": 1, "decision": 1, "any": 2}


def test_opening_a_card_stops_the_first_review_clock(hos, outsider):
    card = make_card()
    review.mark_viewed(card, user=outsider)
    card.refresh_from_db()
    assert card.first_viewed_at is None
    review.mark_viewed(card, user=hos)
    card.refresh_from_db()
    assert card.first_viewed_at is not None


def test_the_review_split_and_the_operators_trace_agree_after_graduation(db):
    from outreach import eligibility, review
    from outreach.models import Tier
    from ramp.models import RampPolicy
    from tests.factories import make_campaign, make_card, make_lead

    # Graduated once: tier_2 has its canary share and canary cards are ordinary traffic.
    RampPolicy.objects.update_or_create(pk=1, defaults={"graduation_level": 1, "tier2_canary_share": "0.2"})
    tier2 = make_campaign(tier=Tier.TIER_2, classifier="outbound_tier_2")
    make_card(lead=make_lead(tier=Tier.TIER_2), campaign=tier2)
    make_card(is_canary=True)
    make_card(lead=make_lead(tier=Tier.TIER_3), campaign=make_campaign(tier=Tier.TIER_3, classifier="outbound_tier_3"))

    split = review.queue_split()
    eligible = sum(verdict.eligible for verdict in eligibility.judge_queue())

    assert split["eligible"] == eligible == 2
    assert (split["canary"], split["tier_not_sendable"]) == (0, 1)
