"""manage.py run_pipeline and outreach.drafting.pipeline."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from compliance.models import DoNotContact, ExcludedDomain
from outreach import eligibility
from outreach.checks import evaluate
from outreach.drafting.drafters import Draft
from outreach.models import CadenceStep, CardStatus, Enrollment, PendingEmail
from outreach.drafting.pipeline import DraftStats, PipelineError, PipelineReport, _enroll_and_save, draft_cards, run_pipeline
from ramp.models import RampPolicy
from outreach.approval import approval_record
from tests.factories import make_campaign, make_lead, reviewer

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("run_pipeline", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def campaign():
    return make_campaign(ref="spring")


@pytest.mark.postgres
def test_it_drafts_cards_that_pass_every_check(campaign):
    leads = [make_lead(source="wpromote") for _ in range(3)]
    make_lead(source="elsewhere")

    out, _ = run("--source", "wpromote", "--limit", "10", "--apply")

    assert "3 drafted, 0 skipped, 0 errors." in out
    cards = list(PendingEmail.objects.select_related("enrollment", "step"))
    assert {card.lead_id for card in cards} == {lead.pk for lead in leads}
    for card in cards:
        assert card.status == CardStatus.PENDING
        assert evaluate(card).passed, evaluate(card).failures
        assert card.compliance_passed and card.compliance["passed"]
        assert card.subject == f"Quick question, {card.lead.first_name}"
        assert card.body.startswith(f"Hi {card.lead.first_name},")
        assert (card.classifier, card.campaign_ref, card.route) == ("outbound_tier_1", "spring", campaign.route)
        assert (card.template_version, card.drafter, card.is_shadow) == ("spring:s1:v1", "template", False)
        assert card.step.number == 1
        assert (card.enrollment.status, card.enrollment.current_step) == (Enrollment.Status.ACTIVE, 1)
        assert card.idempotency_key == f"caio-{card.code.hex}"


def test_it_is_a_dry_run_by_default_that_lists_whom_it_would_draft(campaign):
    lead = make_lead(source="wpromote")

    out, _ = run("--source", "wpromote", "--limit", "10")

    assert "Dry run: 1 would draft" in out and "--apply" in out
    assert f"  would draft {lead.email} (spring step 1)" in out
    assert not PendingEmail.objects.exists()
    assert not Enrollment.objects.exists()


@pytest.mark.postgres
def test_it_never_drafts_a_lead_twice(campaign):
    for _ in range(2):
        make_lead(source="wpromote")
    run("--source", "wpromote", "--limit", "10", "--apply")

    out, _ = run("--source", "wpromote", "--limit", "10", "--apply")

    assert "0 drafted, 2 skipped" in out and "skipped 2: already enrolled" in out
    assert PendingEmail.objects.count() == 2


def test_it_skips_ineligible_leads_with_reasons(campaign):
    now = timezone.now()
    ExcludedDomain.objects.create(domain="customer.example")
    DoNotContact.objects.create(email="listed@acme.example")
    make_lead(source="wpromote", do_not_contact=True)
    make_lead(source="wpromote", email="listed@acme.example")
    make_lead(source="wpromote", unsubscribed_at=now)
    make_lead(source="wpromote", bounced_at=now)
    make_lead(source="wpromote", replied_at=now)
    make_lead(source="wpromote", email="ana@eu.customer.example")
    make_lead(source="wpromote", tier="tier_2")
    good = make_lead(source="wpromote")

    report = run_pipeline(source="wpromote", limit=10, apply=True)

    # Under the eligibility module's lead rule codes: the flag and the list are one rule.
    assert report.skipped == {
        "do_not_contact": 2, "unsubscribed": 1, "bounced": 1, "replied": 1, "excluded_domain": 1, "not tier_1": 1,
    }
    assert set(report.skipped) - {"not tier_1"} <= set(eligibility.LEAD_CODES)
    assert list(PendingEmail.objects.values_list("lead_id", flat=True)) == [good.pk]


def test_it_takes_the_campaign_tier_first_and_stops_at_the_limit(campaign):
    make_lead(source="wpromote", tier="tier_2")
    first, second, _third = (make_lead(source="wpromote") for _ in range(3))

    report = run_pipeline(source="wpromote", limit=2, apply=True)

    assert sorted(PendingEmail.objects.values_list("lead_id", flat=True)) == [first.pk, second.pk]
    assert report.skipped == {}


def test_a_broken_template_yields_drafting_errors_not_cards(campaign):
    CadenceStep.objects.filter(campaign=campaign, number=1).update(body_template="Hi {{ lead.nickname }},\n\nCall?\n\nBest,\nAl")
    make_lead(source="wpromote")

    with pytest.raises(CommandError, match="1 lead\\(s\\) could not be drafted"):
        run("--source", "wpromote", "--limit", "10", "--apply")

    assert not PendingEmail.objects.exists()
    assert not Enrollment.objects.exists()
    report = run_pipeline(source="wpromote", limit=10, apply=True)
    assert [(e.stage, e.message) for e in report.errors] == [
        ("drafting", f"step 1 body: {{{{ lead.nickname }}}} is missing or empty for {report.errors[0].email}.")
    ]


def test_a_template_that_fails_the_checks_yields_errors_not_cards(campaign):
    CadenceStep.objects.filter(campaign=campaign, number=1).update(subject_template="Re: [NAME]")
    make_lead(source="wpromote")

    report = run_pipeline(source="wpromote", limit=10, apply=True)

    assert report.drafted == []
    [error] = report.errors
    assert error.stage == "checks"
    assert "Unrendered placeholder '[NAME]'" in error.message and "Re:/Fwd:" in error.message
    assert not Enrollment.objects.exists()


def test_shadow_mode_marks_cards_and_may_draft_a_tier_not_yet_allowed():
    make_campaign(ref="t2", tier="tier_2", classifier="outbound_tier_2")
    make_lead(source="wpromote", tier="tier_2")

    with pytest.raises(CommandError, match="targets tier_2, which is not sendable at this ramp level"):
        run("--source", "wpromote", "--limit", "5", "--campaign", "t2", "--apply")
    run("--source", "wpromote", "--limit", "5", "--campaign", "t2", "--mode", "shadow", "--apply")

    card = PendingEmail.objects.get()
    assert card.is_shadow and card.classifier == "outbound_tier_2"


def test_it_picks_the_campaign_or_says_why_not():
    with pytest.raises(PipelineError, match="No active campaign targets an allowed tier"):
        run_pipeline(source="wpromote", limit=1)
    make_campaign(ref="a")
    make_campaign(ref="b")
    make_campaign(ref="c", tier="tier_2", classifier="outbound_tier_2")
    with pytest.raises(CommandError, match=r"Several active campaigns target the allowed tiers \(a, b\); pass --campaign"):
        run("--source", "wpromote", "--limit", "1")
    with pytest.raises(CommandError, match="No campaign 'zzz'"):
        run("--source", "wpromote", "--limit", "1", "--campaign", "zzz")
    with pytest.raises(CommandError, match="--limit must be at least 1"):
        run("--source", "wpromote", "--limit", "0", "--campaign", "a")
    RampPolicy.objects.filter(pk=1).update(allowed_tiers=["tier_2"])
    assert run_pipeline(source="wpromote", limit=1).campaign_ref == "c"


def test_it_prints_json(campaign):
    make_lead(source="wpromote")

    out, _ = run("--source", "wpromote", "--limit", "3", "--apply", "--json")

    document = json.loads(out)
    assert document["drafted"] == 1 and document["applied"] is True and document["errors"] == []
    assert document["card_ids"] == list(PendingEmail.objects.values_list("pk", flat=True))


@pytest.mark.postgres
def test_a_lead_enrolled_meanwhile_is_skipped_not_duplicated(campaign):
    lead = make_lead(source="wpromote")
    other = make_lead(source="wpromote")
    step = campaign.steps.get(number=1)
    stats = DraftStats()
    cards = draft_cards(
        [(lead, None), (other, None)], campaign=campaign, step=step, drafter=_Fixed(), shadow=False,
        excluded_domains=frozenset(), stats=stats,
    )
    # Another run enrolls the first lead between our read and our write.
    Enrollment.objects.create(lead=lead, campaign=campaign, current_step=1)

    report = PipelineReport()
    _enroll_and_save(cards, campaign=campaign, report=report)

    assert report.skipped == {"already enrolled": 1}
    assert list(PendingEmail.objects.values_list("lead_id", flat=True)) == [other.pk]
    assert Enrollment.objects.filter(lead=lead).count() == 1


class _Fixed:
    """Any object with a name and draft() is a drafter."""

    name = "fixed"

    def draft(self, lead, step) -> Draft:
        return Draft(subject="A question", body="Hi there,\n\nWould a short call next week help your team?\n\nBest,\nAlex")


def test_any_drafter_can_replace_the_template_drafter(campaign):
    make_lead(source="wpromote")

    run_pipeline(source="wpromote", limit=1, apply=True, drafter=_Fixed())

    assert PendingEmail.objects.get().drafter == "fixed"


def test_suppression_after_drafting_beats_the_drafted_card_at_approval_and_before_sending(campaign):
    from outreach.transitions import transition

    lead = make_lead(source="wpromote")
    run_pipeline(source="wpromote", limit=1, apply=True)
    card = PendingEmail.objects.get(lead=lead)
    assert evaluate(card).passed

    # The lead asks not to be contacted after the card was drafted.
    type(lead).objects.filter(pk=lead.pk).update(do_not_contact=True, do_not_contact_reason="asked by phone")

    at_approval = evaluate(card)
    assert not at_approval.passed
    assert at_approval.failures == ["Not do-not-contact: The lead is marked do-not-contact: asked by phone."]
    # Even a card approved earlier and already queued fails the re-check before sending.
    PendingEmail.objects.filter(pk=card.pk).update(status=CardStatus.APPROVED, reviewed_by=reviewer(), **approval_record(card))
    card.refresh_from_db()
    transition(card, CardStatus.QUEUED)
    assert evaluate(card).failed_ids == ["compliance.C011"]


def test_after_a_graduation_tier_2_is_drafted_as_canary_traffic():
    from ramp.models import RampPolicy

    RampPolicy.objects.update_or_create(pk=1, defaults={"graduation_level": 1, "tier2_canary_share": "0.2"})
    make_campaign(ref="t2", tier="tier_2", classifier="outbound_tier_2")
    make_lead(source="wpromote", tier="tier_2")

    run("--source", "wpromote", "--limit", "5", "--campaign", "t2", "--apply")

    # It should be sent only through tier_2's canary share of the cap.
    card = PendingEmail.objects.get()
    assert card.is_canary and not card.is_shadow
