"""What the demo holds: read from one seeding shared by the module (see the `demo` fixture)."""

from __future__ import annotations

from outreach import review
from outreach.models import CardStatus, CardTransition, Lead, PendingEmail
from ramp.days import operating_date
from ramp.models import RampDay


def test_it_loads_cards_in_every_state_with_a_real_history(demo, db):
    states = set(PendingEmail.objects.values_list("status", flat=True))
    assert states == {choice.value for choice in CardStatus}
    assert 50 <= Lead.objects.count() <= 65
    assert set(Lead.objects.values_list("tier", flat=True)) == {"tier_1", "tier_2", "tier_3"}
    assert Lead.objects.filter(do_not_contact=True).exists()
    # Every non-pending card got where it is through recorded transitions.
    for card in PendingEmail.objects.exclude(status=CardStatus.PENDING):
        assert CardTransition.objects.filter(card=card).latest("id").to_status == card.status


def test_it_shows_many_pending_but_few_eligible(demo, db):
    split = review.queue_split()
    assert split["pending"] >= 30
    assert 1 <= split["eligible"] <= 3
    assert split["stale"] >= 15
    assert PendingEmail.objects.filter(status=CardStatus.PENDING, is_canary=True).count() >= 5


def test_its_sends_are_counted_on_the_ramp_days_they_were_claimed(demo, db):
    claimed = PendingEmail.objects.filter(queued_at__isnull=False)
    assert claimed.count() == 7  # 3 sent, queued, sending, unknown, failed
    for day in RampDay.objects.all():
        on_day = [card for card in claimed if operating_date(card.queued_at) == day.date]
        assert day.dispatched_count == len(on_day)
        assert day.sent_count == sum(card.status == CardStatus.SENT for card in on_day)
        assert day.dispatched_count <= day.cap


def test_it_leaves_tier_1_leads_for_the_pipeline_to_draft(demo, db):
    undrafted = Lead.objects.filter(tier="tier_1", cards__isnull=True, enrollments__isnull=True)
    assert undrafted.count() >= 2


def test_its_history_is_clean_for_the_first_live_cycle(demo, db):
    from io import StringIO

    from django.core.management import call_command

    from outreach.models import Enrollment
    from ramp.gates import live_cycle_blockers

    today = operating_date()
    # Every past live day is decided, and nothing was claimed today: no leftover gate, no send error today.
    assert not RampDay.objects.filter(is_live=True, decision="").exists()
    assert not RampDay.objects.filter(date=today).exists()
    assert not any("has no decision" in blocker for blocker in live_cycle_blockers())
    # Each sequence stands at the step of its newest card; ended ones are stopped, not stuck.
    for enrollment in Enrollment.objects.filter(status=Enrollment.Status.ACTIVE):
        newest = enrollment.lead.cards.filter(campaign=enrollment.campaign).order_by("-step__number").first()
        assert newest is None or newest.step.number == enrollment.current_step
    out = StringIO()
    call_command("cadence_tick", "--apply", stdout=out)
    assert "0 errors" in out.getvalue()


def test_its_live_cycles_and_dispatch_attempts_tell_the_history_its_ramp_days_tell(demo, db):
    """The Ramp days, Live cycles and Dispatch attempts pages agree about each past live day, as a real cycle leaves them."""
    from outreach.models import DispatchAttempt
    from outreach.sending.cycles import settle_cycles
    from ramp.cycles import LiveCycle
    from ramp.days import window_bounds
    from ramp.models import RampPolicy

    policy = RampPolicy.get()
    claimed = PendingEmail.objects.filter(queued_at__isnull=False)
    live_days = RampDay.objects.filter(is_live=True, date__lt=operating_date())
    assert live_days.count() == 2
    for day in live_days:
        (cycle,) = LiveCycle.objects.filter(date=day.date)
        cards = [card for card in claimed if operating_date(card.queued_at) == day.date]
        start, end = window_bounds(policy, day.date)
        assert cycle.operator == "operator" and start <= cycle.started_at < end
        assert sorted(cycle.card_ids) == sorted(card.pk for card in cards)
        assert (cycle.claimed, cycle.sent) == (day.dispatched_count, day.sent_count)
        unknown = sum(card.status == CardStatus.UNKNOWN for card in cards)
        assert cycle.failed + unknown == day.error_count and cycle.released == 0
        assert cycle.in_flight == sum(card.status in CardStatus.IN_FLIGHT for card in cards)
        if cycle.in_flight:
            assert cycle.outcome == LiveCycle.Outcome.SENDING and cycle.ended_at is None
        else:
            assert cycle.outcome == LiveCycle.Outcome.SETTLED
            assert cycle.ended_at == max(card.sent_at for card in cards if card.sent_at)
    # What reconcile and the daily report would count again is what is stored.
    stored = list(LiveCycle.objects.values())
    settle_cycles()
    assert list(LiveCycle.objects.values()) == stored

    expected = {
        CardStatus.SENT: DispatchAttempt.Outcome.SENT,
        CardStatus.FAILED: DispatchAttempt.Outcome.FAILED,
        CardStatus.UNKNOWN: DispatchAttempt.Outcome.UNKNOWN,
        CardStatus.SENDING: DispatchAttempt.Outcome.STARTED,
    }
    for card in claimed:
        attempts = list(card.attempts.all())
        if card.status == CardStatus.QUEUED:  # claimed, its job not run yet: it never reached GHL
            assert attempts == []
            continue
        (attempt,) = attempts
        assert attempt.outcome == expected[card.status] and card.dispatch_attempts == 1
        assert attempt.error == card.last_error
        sending = CardTransition.objects.get(card=card, to_status=CardStatus.SENDING)
        assert attempt.started_at == sending.created_at
        if card.status == CardStatus.SENT:
            assert attempt.finished_at == card.sent_at
        elif card.status == CardStatus.SENDING:
            assert attempt.finished_at is None
        else:
            assert attempt.finished_at == CardTransition.objects.get(card=card, to_status=card.status).created_at
    assert not DispatchAttempt.objects.exclude(card__in=claimed).exists()
