"""outreach.checks: facts gathered from the database, re-read at each evaluation."""

from __future__ import annotations

import pytest
from django.utils import timezone

from compliance.models import DoNotContact, ExcludedDomain
from outreach.checks import CheckContext, evaluate, record
from outreach.models import CardStatus, Lead, PendingEmail
from tests.factories import make_campaign, make_card, make_lead, a_rejection_tag

pytestmark = pytest.mark.django_db


def failed_ids(card) -> list[str]:
    return evaluate(card).failed_ids


def test_it_passes_a_factory_card():
    result = evaluate(make_card())

    assert result.passed, result.failures
    assert result.failures == []


@pytest.mark.parametrize("status", [CardStatus.PENDING, CardStatus.APPROVED, CardStatus.QUEUED])
@pytest.mark.parametrize(
    ("suppress", "check_id"),
    [
        (lambda lead: Lead.objects.filter(pk=lead.pk).update(do_not_contact=True), "compliance.C011"),
        (lambda lead: DoNotContact.objects.create(email=lead.email.upper()), "compliance.C011"),
        (lambda lead: Lead.objects.filter(pk=lead.pk).update(unsubscribed_at=timezone.now()), "compliance.C012"),
        (lambda lead: Lead.objects.filter(pk=lead.pk).update(bounced_at=timezone.now()), "compliance.C013"),
        (lambda lead: ExcludedDomain.objects.create(domain=lead.domain), "compliance.C014"),
        (lambda lead: Lead.objects.filter(pk=lead.pk).update(replied_at=timezone.now()), "compliance.C018"),
    ],
    ids=["flag", "list", "unsubscribed", "bounced", "excluded", "replied"],
)
def test_it_sees_a_suppression_made_after_drafting(status, suppress, check_id):
    card = make_card(status=status)
    assert evaluate(card).passed

    # The card object in memory still holds the old lead: evaluate must re-read it.
    suppress(card.lead)

    result = evaluate(card)
    assert not result.passed
    assert check_id in result.failed_ids


def test_it_excludes_a_subdomain_of_an_excluded_domain():
    ExcludedDomain.objects.create(domain="customer.example")
    card = make_card(lead=make_lead(email="ana@eu.customer.example"))

    assert failed_ids(card) == ["compliance.C014"]


def test_it_fails_when_another_card_of_the_step_already_went_out():
    campaign = make_campaign()
    lead = make_lead()
    make_card(lead=lead, campaign=campaign, status=CardStatus.SENT, sent_at=timezone.now())
    rejected = make_card(lead=lead, campaign=campaign, status=CardStatus.REJECTED, rejection_tag=a_rejection_tag())
    failed = make_card(lead=lead, campaign=campaign, status=CardStatus.FAILED)

    assert failed_ids(rejected) == ["compliance.C015"]
    assert failed_ids(failed) == ["compliance.C015"]


def test_it_does_not_count_the_card_itself_as_already_contacted():
    card = make_card(status=CardStatus.QUEUED)
    assert evaluate(card).passed


def test_it_fails_labels_inconsistent_with_lead_and_campaign():
    assert failed_ids(make_card(classifier="outbound_tier_2")) == ["compliance.C016"]
    assert failed_ids(make_card(campaign_ref="someone-else")) == ["compliance.C017"]
    assert failed_ids(make_card(lead=make_lead(tier="tier_2"))) == ["compliance.C016"]


def test_it_fails_a_footer_that_drifted_from_the_canonical_one(settings):
    card = make_card()
    settings.SENDER_POSTAL_ADDRESS = "2 New Road, Denver, CO"

    assert failed_ids(card) == ["compliance.C002"]


def test_it_records_the_snapshot_on_the_card_not_the_status():
    card = make_card(subject="Re: [NAME]")

    result = record(card)

    stored = PendingEmail.objects.get(pk=card.pk)
    assert stored.status == CardStatus.PENDING
    assert stored.compliance_passed is False
    assert stored.compliance["passed"] is False
    assert stored.compliance["failed"] == ["compliance.C003", "compliance.C009"] == result.failed_ids
    assert {f["id"] for f in stored.compliance["findings"]} >= {"compliance.C001", "compliance.C017"}
    assert stored.compliance["checked_at"]


def test_it_judges_a_batch_like_one_by_one(django_assert_max_num_queries):
    ExcludedDomain.objects.create(domain="customer.example")
    campaign = make_campaign()
    cards = [make_card(campaign=campaign) for _ in range(3)]
    cards.append(make_card(campaign=campaign, lead=make_lead(email="x@customer.example")))
    cards.append(make_card(campaign=campaign, lead=make_lead(do_not_contact=True)))
    cards = list(PendingEmail.objects.filter(pk__in=[c.pk for c in cards]).select_related("lead", "campaign", "step"))

    # The do-not-contact entries, the contacted cards, the open identity collisions; excluded domains once.
    with django_assert_max_num_queries(4):
        context = CheckContext.for_cards(cards)
        batch = [evaluate(card, context=context).failed_ids for card in cards]

    assert batch == [evaluate(card).failed_ids for card in cards]
    assert batch[-2:] == [["compliance.C014"], ["compliance.C011"]]
