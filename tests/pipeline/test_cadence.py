"""The cadence engine, with the clock moved by time-machine."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from compliance.models import DoNotContact
from outreach.drafting.cadence import TickReport, _draft_step, cadence_tick, step_stats, with_current_step_card
from outreach.checks import evaluate
from outreach.drafting.drafters import DEFAULT_DRAFTER
from outreach.jobs import cadence_tick_job
from outreach.models import CadenceStep, CardStatus, Enrollment, Lead, PendingEmail
from outreach.drafting.pipeline import run_pipeline
from outreach.transitions import transition
from outreach.approval import approval_record
from tests.factories import a_rejection_tag, make_campaign, make_lead, reviewer

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def enrolled(clock):
    """A lead enrolled in a 3-step campaign (delays 0, 3 and 4 days) with its step-1 card pending."""
    campaign = make_campaign(ref="seq")
    lead = make_lead(source="wpromote")
    run_pipeline(source="wpromote", limit=1, apply=True)
    return campaign, lead


def send(card: PendingEmail) -> None:
    """Walk the card through review and dispatch to `sent`, now, storing what each step stores."""
    transition(card, CardStatus.APPROVED, reviewed_by=reviewer(), **approval_record(card))
    for status in (CardStatus.QUEUED, CardStatus.SENDING):
        transition(card, status)
    transition(card, CardStatus.SENT, sent_at=timezone.now(), ghl_message_id=f"msg{card.pk}")


def card_of(lead: Lead, number: int) -> PendingEmail | None:
    return PendingEmail.objects.filter(lead=lead, step__number=number).first()


@pytest.mark.postgres
def test_it_drafts_each_step_only_after_the_previous_was_sent_and_its_delay_passed(clock, enrolled):
    campaign, lead = enrolled
    enrollment = Enrollment.objects.get(lead=lead)

    # Step 1 is still waiting for review: nothing to do, however long it waits.
    clock.shift(dt.timedelta(days=5))
    assert cadence_tick(apply=True).drafted == []
    assert card_of(lead, 2) is None

    send(card_of(lead, 1))
    sent_at = timezone.now()
    report = cadence_tick(apply=True)
    assert report.drafted == [] and report.skipped == {"step 2 not due yet": 1}
    enrollment.refresh_from_db()
    assert enrollment.next_due_at == sent_at + dt.timedelta(days=3)

    clock.shift(dt.timedelta(days=3) - dt.timedelta(minutes=1))
    assert cadence_tick(apply=True).drafted == []

    clock.shift(dt.timedelta(minutes=1))
    report = cadence_tick(apply=True)
    step2 = card_of(lead, 2)
    assert report.drafted == [step2.pk]
    assert (step2.status, step2.template_version, step2.enrollment_id) == (CardStatus.PENDING, "seq:s2:v1", enrollment.pk)
    assert evaluate(step2).passed, evaluate(step2).failures
    enrollment.refresh_from_db()
    assert (enrollment.current_step, enrollment.next_due_at) == (2, None)

    # Step 2 waits for its own send; a second tick drafts nothing twice.
    clock.shift(dt.timedelta(days=10))
    assert cadence_tick(apply=True).drafted == []
    send(step2)
    clock.shift(dt.timedelta(days=4))
    report = cadence_tick(apply=True)
    assert report.drafted == [card_of(lead, 3).pk]

    send(card_of(lead, 3))
    report = cadence_tick(apply=True)
    assert report.completed == 1 and report.drafted == []
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert PendingEmail.objects.filter(lead=lead).count() == 3


def test_no_step_is_drafted_after_a_reply(clock, enrolled):
    _campaign, lead = enrolled
    send(card_of(lead, 1))
    clock.shift(dt.timedelta(days=1))
    Lead.objects.filter(pk=lead.pk).update(replied_at=timezone.now())

    clock.shift(dt.timedelta(days=30))
    report = cadence_tick(apply=True)

    assert report.drafted == [] and report.stopped == {"replied": 1}
    assert card_of(lead, 2) is None
    enrollment = Enrollment.objects.get(lead=lead)
    assert (enrollment.status, enrollment.stop_reason) == (Enrollment.Status.STOPPED, "replied")
    assert cadence_tick(apply=True).drafted == []


@pytest.mark.parametrize(
    ("suppress", "reason"),
    [
        (lambda lead: Lead.objects.filter(pk=lead.pk).update(unsubscribed_at=timezone.now()), "unsubscribed"),
        (lambda lead: Lead.objects.filter(pk=lead.pk).update(bounced_at=timezone.now()), "bounced"),
        (lambda lead: Lead.objects.filter(pk=lead.pk).update(do_not_contact=True), "do_not_contact"),
        (lambda lead: DoNotContact.objects.create(email=lead.email), "do_not_contact"),
    ],
    ids=["unsubscribed", "bounced", "flag", "list"],
)
def test_it_stops_on_suppression(clock, enrolled, suppress, reason):
    _campaign, lead = enrolled
    send(card_of(lead, 1))
    suppress(lead)
    clock.shift(dt.timedelta(days=3))

    report = cadence_tick(apply=True)

    assert report.stopped == {reason: 1} and report.drafted == []
    assert Enrollment.objects.get(lead=lead).stop_reason == reason


def test_it_stops_when_the_step_card_was_rejected(clock, enrolled, hos):
    _campaign, lead = enrolled
    transition(card_of(lead, 1), CardStatus.REJECTED, actor=hos, rejection_tag=a_rejection_tag())

    report = cadence_tick(apply=True)

    assert report.stopped == {"step_1_rejected": 1}
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.STOPPED


def test_the_command_is_a_dry_run_by_default(clock, enrolled):
    _campaign, lead = enrolled
    send(card_of(lead, 1))
    clock.shift(dt.timedelta(days=3))
    out = StringIO()

    call_command("cadence_tick", stdout=out)

    assert "Dry run: 1 would draft" in out.getvalue()
    assert f"  would draft {lead.email} (seq step 2)" in out.getvalue()
    assert card_of(lead, 2) is None
    assert Enrollment.objects.get(lead=lead).current_step == 1
    call_command("cadence_tick", "--apply", stdout=out)
    assert card_of(lead, 2) is not None


def test_a_second_tick_on_stale_enrollments_drafts_nothing(clock, enrolled):
    _campaign, lead = enrolled
    send(card_of(lead, 1))
    clock.shift(dt.timedelta(days=3))
    stale = list(with_current_step_card(Enrollment.objects.filter(lead=lead)).select_related("lead", "campaign"))

    cadence_tick(apply=True)
    report = TickReport(applied=True)
    step2 = CadenceStep.objects.get(campaign__ref="seq", number=2)
    _draft_step(stale, step2, drafter=DEFAULT_DRAFTER, excluded=frozenset(), report=report)

    assert report.drafted == [] and report.skipped == {"advanced by another tick": 1}
    assert PendingEmail.objects.filter(lead=lead, step__number=2).count() == 1


def test_a_shadow_sequence_stays_shadow(clock):
    make_campaign(ref="seq")
    lead = make_lead(source="wpromote")
    run_pipeline(source="wpromote", limit=1, apply=True, mode="shadow")
    # Shadow cards are never dispatched; mark this one sent to exercise the follow-up.
    card = card_of(lead, 1)
    send(card)
    clock.shift(dt.timedelta(days=3))

    cadence_tick(apply=True)

    assert card_of(lead, 2).is_shadow


def test_a_broken_follow_up_template_is_an_error_and_does_not_advance(clock, enrolled):
    campaign, lead = enrolled
    CadenceStep.objects.filter(campaign=campaign, number=2).update(body_template="Hi {{ lead.nickname }}")
    send(card_of(lead, 1))
    clock.shift(dt.timedelta(days=3))

    with pytest.raises(CommandError, match="1 enrollment\\(s\\) could not be drafted"):
        call_command("cadence_tick", "--apply", stdout=StringIO(), stderr=StringIO())

    assert card_of(lead, 2) is None
    assert Enrollment.objects.get(lead=lead).current_step == 1


def test_the_rq_job_runs_a_real_tick(clock, enrolled):
    _campaign, lead = enrolled
    send(card_of(lead, 1))
    clock.shift(dt.timedelta(days=3))

    summary = cadence_tick_job()

    assert summary["applied"] is True and summary["drafted"] == 1
    assert card_of(lead, 2) is not None


def test_step_stats_count_each_step(clock):
    campaign = make_campaign(ref="seq")
    leads = [make_lead(source="wpromote") for _ in range(3)]
    run_pipeline(source="wpromote", limit=3, apply=True)
    send(card_of(leads[0], 1))
    send(card_of(leads[1], 1))
    Lead.objects.filter(pk=leads[1].pk).update(replied_at=timezone.now())
    cadence_tick(apply=True)  # stops leads[1] (replied)
    clock.shift(dt.timedelta(days=3))

    stats = {s.number: s for s in step_stats(campaign)}

    assert (stats[1].enrolled, stats[1].drafted, stats[1].sent, stats[1].replied) == (2, 3, 2, 1)
    assert (stats[2].due_today, stats[2].drafted) == (1, 0)
    assert stats[3].due_today == 0
