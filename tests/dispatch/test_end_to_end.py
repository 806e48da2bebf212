"""Real parts: a GHL sandbox process, Redis, and `manage.py rqworker dispatch` processes
sharing this test's database. Every card within the cap is delivered exactly once."""

from __future__ import annotations

import pytest

from outreach.sending.reconcile import verify_sent
from outreach.sending.select import start_live_cycle
from outreach.models import CardStatus, DispatchAttempt, PendingEmail
from ramp.days import operating_date
from ramp.models import RampDay
from tests.dispatch.helpers import approved_card, green_gates

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]


def assert_delivered_exactly_once(sandbox, cards) -> list[dict]:
    """Each card sent is in the sandbox's delivery log exactly once, with the ids we recorded."""
    deliveries = sandbox.control.deliveries()
    for card in cards:
        card.refresh_from_db()
        matching = [d for d in deliveries if card.idempotency_key in (d.get("html") or "")]
        assert len(matching) == 1, f"card {card.pk} delivered {len(matching)} times"
        assert card.status == CardStatus.SENT
        assert matching[0]["message_id"] == card.ghl_message_id
    return deliveries


def test_approved_cards_within_the_cap_are_delivered_exactly_once(operator, processes, ghl_sandbox_process):
    green_gates(daily_cap=5)
    cards = [approved_card() for _ in range(7)]

    result = start_live_cycle(operator=operator)
    assert len(result.claimed) == 5
    processes.run_burst_worker()

    sent, left = cards[:5], cards[5:]
    deliveries = assert_delivered_exactly_once(ghl_sandbox_process, sent)
    # The delivery log and the database agree: nothing else went out.
    assert len(deliveries) == 5
    assert {d["contact_email"] for d in deliveries} == {card.lead.email for card in sent}
    assert [PendingEmail.objects.get(pk=c.pk).status for c in left] == ["approved", "approved"]
    day = RampDay.objects.get(date=operating_date())
    assert (day.dispatched_count, day.sent_count, day.error_count) == (5, 5, 0)
    assert DispatchAttempt.objects.filter(outcome="sent").count() == 5
    # The contact ids GHL gave are on the cards and leads.
    contact_ids = {c["email"]: c["id"] for c in ghl_sandbox_process.control.contacts()}
    for card in sent:
        card.refresh_from_db()
        assert card.ghl_contact_id == contact_ids[card.lead.email] == card.lead.__class__.objects.get(pk=card.lead_id).ghl_contact_id

    report = verify_sent(operating_date())
    assert report.ok and report.checked == 5
