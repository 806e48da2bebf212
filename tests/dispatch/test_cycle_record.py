"""Each supervised live cycle is stored: operator, start and end, gates, claimed, sent, failed, held back by reason."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from ghl.client import Contact
from outreach.sending.cycles import settle_cycles
from outreach.sending.gates import DispatchRefused
from outreach.sending.job import send_card
from outreach.sending.select import start_live_cycle
from ramp.cycles import LiveCycle
from ramp.holds import raise_hold
from ramp.models import PreflightRun
from tests.dispatch.helpers import approved_card, fake_client, green_gates, patch_client
from tests.ramp.helpers import IN_WINDOW

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

DND = Contact(id="c-dnd", email="x@y.z", dnd=False, email_dnd_status="permanent")


@pytest.fixture
def clock():
    with time_machine.travel(IN_WINDOW, tick=False) as traveller:
        yield traveller


def test_a_cycle_is_recorded_from_claim_to_its_last_card(operator, redis_conn, clock, django_capture_on_commit_callbacks):
    green_gates(daily_cap=3)
    preflight = PreflightRun.objects.get()
    cards = [approved_card() for _ in range(4)]
    canary = approved_card(is_canary=True)

    with django_capture_on_commit_callbacks(execute=True):
        result = start_live_cycle(operator=operator)

    cycle = LiveCycle.objects.get(pk=result.record_id)
    assert (cycle.operator, cycle.outcome, cycle.started_at, cycle.ended_at) == ("operator", "sending", IN_WINDOW, None)
    assert cycle.card_ids == [card.pk for card in cards[:3]] and cycle.claimed == 3
    assert cycle.held_back_by_reason == {"ramp_limit": 1, "canary": 1}
    assert f"a fresh passed preflight (run {preflight.pk} at {preflight.ran_at:%H:%M} UTC)" in cycle.gates_passed
    assert "no active hold" in cycle.gates_passed and canary.pk not in cycle.card_ids

    clock.shift(dt.timedelta(minutes=2))
    with patch_client(fake_client()):
        assert send_card(cards[0].pk).outcome == "sent"
        assert send_card(cards[1].pk).outcome == "sent"
    settle_cycles()
    cycle.refresh_from_db()
    assert (cycle.outcome, cycle.sent, cycle.failed, cycle.in_flight, cycle.ended_at) == ("sending", 2, 0, 1, None)
    assert cycle.as_line().endswith("still sending UTC operator: claimed 3, sent 2, failed 0, in flight 1; held back: canary 1, ramp_limit 1")

    clock.shift(dt.timedelta(minutes=3))
    with patch_client(fake_client(contact=DND)):
        assert send_card(cards[2].pk).outcome == "failed"
    settle_cycles()
    cycle.refresh_from_db()
    assert (cycle.outcome, cycle.sent, cycle.failed, cycle.in_flight) == ("settled", 2, 1, 0)
    assert cycle.ended_at == IN_WINDOW + dt.timedelta(minutes=5)


def test_a_refused_cycle_is_recorded_with_its_reasons(operator, redis_conn, clock):
    green_gates()
    approved_card()
    raise_hold(reason="copy check", raised_by="operator")

    with pytest.raises(DispatchRefused):
        start_live_cycle(operator=operator)

    cycle = LiveCycle.objects.get()
    assert (cycle.outcome, cycle.claimed, cycle.started_at, cycle.ended_at) == ("refused", 0, IN_WINDOW, IN_WINDOW)
    assert any("copy check" in reason for reason in cycle.refused_because)


def test_the_daily_report_and_the_admin_show_the_day_by_cycle(client, operator, redis_conn, clock, django_capture_on_commit_callbacks):
    green_gates(daily_cap=2)
    first, _second = approved_card(), approved_card()
    with django_capture_on_commit_callbacks(execute=True):
        start_live_cycle(operator=operator, limit=1)
    clock.shift(dt.timedelta(minutes=1))
    with patch_client(fake_client()):
        send_card(first.pk)
    clock.shift(dt.timedelta(minutes=30))
    raise_hold(reason="looks off", raised_by="operator")
    with pytest.raises(DispatchRefused):
        start_live_cycle(operator=operator)

    out = StringIO()
    call_command("daily_report", "--json", stdout=out)
    report = json.loads(out.getvalue())
    lines = [cycle["line"] for cycle in report["cycles"]]
    assert [cycle["outcome"] for cycle in report["cycles"]] == ["settled", "refused"]
    # 15:30 in New York is 20:30 UTC in February.
    assert lines[0] == "20:30–20:31 UTC operator: claimed 1, sent 1, failed 0; held back: ramp_limit 1"
    assert lines[1].startswith("21:01 UTC operator: refused (Active hold") and "looks off" in lines[1]

    text = StringIO()
    call_command("daily_report", stdout=text)
    assert "Live cycles: 2" in text.getvalue()
    assert f"  - {lines[0]}" in text.getvalue() and f"  - {lines[1]}" in text.getvalue()

    client.force_login(operator)
    page = client.get("/admin/ramp/livecycle/").content.decode()
    assert "operator" in page and "ramp_limit 1" in page
    cycle = LiveCycle.objects.get(outcome="settled")
    detail = client.get(f"/admin/ramp/livecycle/{cycle.pk}/change/").content.decode()
    assert "no active hold" in detail and str(first.pk) in detail


def test_reconcile_closes_the_cycle_whose_last_card_it_settles(operator, redis_conn, clock, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from ghl.client import SentMessage
    from outreach.models import CardStatus, PendingEmail
    from outreach.sending.reconcile import reconcile

    green_gates(daily_cap=1)
    card = approved_card()
    with django_capture_on_commit_callbacks(execute=True):
        result = start_live_cycle(operator=operator)
    # The worker died mid-send: the card is left `sending` for reconcile.
    PendingEmail.objects.filter(pk=card.pk).update(status=CardStatus.SENDING, ghl_contact_id="contactA", updated_at=timezone.now())
    clock.shift(dt.timedelta(minutes=10))
    client = fake_client()
    client.find_sent_email.return_value = SentMessage(conversation_id="cA", message_id="mA", email_message_id="eA")

    with patch_client(client):
        reconcile(apply=False)
    assert LiveCycle.objects.get(pk=result.record_id).outcome == "sending"
    with patch_client(client):
        reconcile(apply=True)

    cycle = LiveCycle.objects.get(pk=result.record_id)
    assert (cycle.outcome, cycle.sent, cycle.in_flight, cycle.ended_at) == ("settled", 1, 0, IN_WINDOW + dt.timedelta(minutes=10))
