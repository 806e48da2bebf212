"""The sending window binds the job, not only the claim; a card's age is judged at its claim.

A card claimed at 17:59:50 whose job is reached after 18:00 sends nothing and
gives its slot back; a card claimed 10 seconds inside its 72-hour limit is
sent by its job 20 seconds later, inside the window.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from outreach.drafting.pipeline import redraft_candidates
from outreach.models import CardStatus, DispatchAttempt, PendingEmail
from outreach.sending.select import start_live_cycle
from ramp.models import RampDay
from ramp.preflight import run_preflight
from tests.operating.test_evidence_lands import SOURCE, approve_cards, run_worker, world  # noqa: F401
from tests.ramp.helpers import NY

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

DATE = dt.date(2026, 3, 5)  # a Thursday


def at(day: dt.date, hour: int, minute: int, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=NY)


def drafted_three_days_before(world, claim_at: dt.datetime) -> PendingEmail:
    """One card drafted 72 hours before `claim_at` less 10 seconds, approved 5 minutes later."""
    drafted_at = claim_at - dt.timedelta(hours=72) + dt.timedelta(seconds=10)
    with time_machine.travel(drafted_at, tick=False):
        approve_cards(world, 1)
    return PendingEmail.objects.get(status=CardStatus.APPROVED)


def claim(world, claim_at: dt.datetime) -> None:
    with time_machine.travel(claim_at - dt.timedelta(minutes=10), tick=False):
        assert run_preflight(ran_by="operator").passed
    with time_machine.travel(claim_at, tick=False):
        assert len(start_live_cycle(operator=world["operator"]).claimed) == 1


def test_a_job_reached_after_the_window_closes_sends_nothing_and_releases_its_slot(world):
    claim_at = at(DATE, 17, 59, 50)
    card = drafted_three_days_before(world, claim_at)
    claim(world, claim_at)
    assert RampDay.objects.get(date=DATE).dispatched_count == 1

    with time_machine.travel(at(DATE, 18, 0, 10), tick=False):
        run_worker()

    card.refresh_from_db()
    assert (card.status, card.queued_at) == (CardStatus.APPROVED, None)
    assert card.sent_at is None and card.ghl_message_id == ""
    attempt = DispatchAttempt.objects.get(card=card, outcome=DispatchAttempt.Outcome.SKIPPED)
    assert "outside the sending window of 2026-03-05 (15:00–18:00 America/New_York)" in attempt.error
    assert RampDay.objects.get(date=DATE).dispatched_count == 0
    # It has passed its age limit meanwhile: the lead waits for fresh copy, it is not lost.
    with time_machine.travel(at(DATE + dt.timedelta(days=1), 9, 0), tick=False):
        assert [c.pk for c in redraft_candidates(source=SOURCE)] == [card.pk]


def test_a_card_claimed_inside_its_age_limit_is_sent_by_its_job_after_it(world):
    claim_at = at(DATE, 16, 59, 50)
    card = drafted_three_days_before(world, claim_at)
    claim(world, claim_at)

    # 20 seconds later the card is 72 h 0 m 10 s old: still the claim's to send, inside the window.
    with time_machine.travel(claim_at + dt.timedelta(seconds=20), tick=False):
        run_worker()

    card.refresh_from_db()
    assert card.status == CardStatus.SENT and card.ghl_message_id
    assert RampDay.objects.get(date=DATE).sent_count == 1
