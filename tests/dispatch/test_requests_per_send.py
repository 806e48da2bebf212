"""GHL requests per send at the minimum, against the sandbox: one for a known contact, two for a new one.

GHL's budget (100 requests per 10 s) is shared with everything else the
location runs, so every request a send does not need is a send lost. A refused
or missing contact is resolved again only on an answer that proves nothing was
sent, and each card still leaves at most once.
"""

from __future__ import annotations

import pytest

from outreach.models import CardStatus, DispatchAttempt, Lead, PendingEmail
from outreach.sending.job import send_card
from ramp.days import ramp_day
from tests.dispatch.helpers import green_gates, queued_card
from tests.factories import make_lead

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def day():
    green_gates(daily_cap=5)
    day = ramp_day()
    day.is_live = True
    day.save()
    return day


def calls(sandbox) -> list[tuple[str, int]]:
    return [(r["endpoint"], r["status"]) for r in sandbox.requests() if r.get("endpoint")]


def deliveries_of(sandbox, card: PendingEmail) -> list[dict]:
    return [d for d in sandbox.deliveries() if card.idempotency_key in (d.get("html") or "")]


def test_a_new_lead_costs_two_requests_the_upsert_and_the_send(ghl_sandbox, day):
    card = queued_card()

    assert send_card(card.pk).outcome == "sent"

    assert calls(ghl_sandbox) == [("contacts.upsert", 200), ("conversations.send", 200)]
    contact_id = Lead.objects.get(pk=card.lead_id).ghl_contact_id
    assert contact_id and contact_id == PendingEmail.objects.get(pk=card.pk).ghl_contact_id
    assert len(deliveries_of(ghl_sandbox, card)) == 1


def test_a_lead_whose_contact_is_known_costs_one_request_the_send(ghl_sandbox, day):
    contact = ghl_sandbox.add_contact("known@acme.example", firstName="Kim")
    card = queued_card(lead=make_lead(email="known@acme.example", ghl_contact_id=contact["id"]))

    assert send_card(card.pk).outcome == "sent"

    assert calls(ghl_sandbox) == [("conversations.send", 200)]
    assert [d["contact_email"] for d in deliveries_of(ghl_sandbox, card)] == ["known@acme.example"]


def test_a_stored_contact_gone_from_ghl_is_resolved_again_and_sent_to_once(ghl_sandbox, day):
    # GHL answers 400 "Contact with id ... not found": nothing was sent, so one upsert and one more send are safe.
    card = queued_card(lead=make_lead(email="moved@acme.example", ghl_contact_id="deletedcontact000001"))

    assert send_card(card.pk).outcome == "sent"

    assert calls(ghl_sandbox) == [("conversations.send", 400), ("contacts.upsert", 200), ("conversations.send", 200)]
    new_id = Lead.objects.get(pk=card.lead_id).ghl_contact_id
    assert new_id not in ("", "deletedcontact000001")
    card.refresh_from_db()
    assert (card.status, card.ghl_contact_id) == (CardStatus.SENT, new_id)
    assert len(deliveries_of(ghl_sandbox, card)) == 1
    assert DispatchAttempt.objects.get(card=card).outcome == "sent"


def test_a_known_contact_with_dnd_is_refused_by_ghl_and_never_sent(ghl_sandbox, day):
    contact = ghl_sandbox.add_contact("dnd@acme.example", dndSettings={"Email": {"status": "active"}})
    card = queued_card(lead=make_lead(email="dnd@acme.example", ghl_contact_id=contact["id"]))

    assert send_card(card.pk).outcome == "failed"

    # The send's refusal, then the upsert that names the reason: no second send.
    assert calls(ghl_sandbox) == [("conversations.send", 400), ("contacts.upsert", 200)]
    card.refresh_from_db()
    assert card.status == CardStatus.FAILED
    assert f"GHL contact {contact['id']} has Email DND (active): not sent" in card.last_error
    assert deliveries_of(ghl_sandbox, card) == []


def test_a_refusal_of_the_same_contact_for_another_reason_fails_without_a_second_send(ghl_sandbox, day):
    contact = ghl_sandbox.add_contact("gone@acme.example", unsubscribed=True)
    card = queued_card(lead=make_lead(email="gone@acme.example", ghl_contact_id=contact["id"]))

    assert send_card(card.pk).outcome == "failed"

    assert calls(ghl_sandbox) == [("conversations.send", 400), ("contacts.upsert", 200)]
    card.refresh_from_db()
    assert card.status == CardStatus.FAILED and "has unsubscribed" in card.last_error
    assert deliveries_of(ghl_sandbox, card) == []


def test_an_ambiguous_answer_to_a_known_contact_is_never_followed_by_a_resolve_and_resend(ghl_sandbox, day):
    # A 502 may mean GHL sent it: only reconcile may decide, never a second send.
    contact = ghl_sandbox.add_contact("maybe@acme.example")
    card = queued_card(lead=make_lead(email="maybe@acme.example", ghl_contact_id=contact["id"]))
    ghl_sandbox.add_fault("conversations.send", "error", status=502, count=1, deliver=True)

    assert send_card(card.pk).outcome == "unknown"

    assert calls(ghl_sandbox) == [("conversations.send", 502)]
    assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.UNKNOWN
    assert len(deliveries_of(ghl_sandbox, card)) == 1
