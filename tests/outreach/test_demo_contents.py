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
