"""GHL requests per send, against the sandbox: two, for first touches and follow-ups alike.

A first touch upserts the contact by the approved address and sends; a lead
whose contact id is stored has that contact read from GHL first, and is sent
to only when GHL's contact still has the approved address and no Email DND
(the stored id is trusted for nothing). GHL's budget (100 requests per 10 s)
is shared with everything else the location runs, so no request beyond these
two is made, and each card leaves at most once.
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


def test_a_lead_whose_contact_is_known_costs_two_requests_reading_the_contact_and_the_send(ghl_sandbox, day):
    contact = ghl_sandbox.add_contact("known@acme.example", firstName="Kim")
    card = queued_card(lead=make_lead(email="known@acme.example", ghl_contact_id=contact["id"]), step_number=2)

    assert send_card(card.pk).outcome == "sent"

    assert calls(ghl_sandbox) == [("contacts.get", 200), ("conversations.send", 200)]
    assert [d["contact_email"] for d in deliveries_of(ghl_sandbox, card)] == ["known@acme.example"]


def test_a_stored_contact_with_another_address_is_never_sent_to(ghl_sandbox, day):
    # The stored id was pointed at someone else's contact: GHL would deliver to that person.
    other = ghl_sandbox.add_contact("victim-ceo@bigcustomer.example")
    card = queued_card(lead=make_lead(email="lead@acme.example", ghl_contact_id=other["id"]))

    assert send_card(card.pk).outcome == "failed"

    assert calls(ghl_sandbox) == [("contacts.get", 200)]
    card.refresh_from_db()
    assert card.status == CardStatus.FAILED
    assert card.last_error == (
        f"Not sent: GHL contact {other['id']} has the address victim-ceo@bigcustomer.example, not the approved lead@acme.example"
    )
    assert ghl_sandbox.deliveries() == []


def test_a_stored_contact_with_email_dnd_is_never_sent_to(ghl_sandbox, day):
    # GHL's DND changed without a webhook reaching us: the read before the send finds it.
    contact = ghl_sandbox.add_contact("dnd@acme.example")
    card = queued_card(lead=make_lead(email="dnd@acme.example", ghl_contact_id=contact["id"]), step_number=2)
    ghl_sandbox.set_dnd(contact["id"], "active")

    assert send_card(card.pk).outcome == "failed"

    assert calls(ghl_sandbox) == [("contacts.get", 200)]
    card.refresh_from_db()
    assert card.status == CardStatus.FAILED
    assert card.last_error == f"Not sent: GHL contact {contact['id']} has Email DND (active)"
    assert ghl_sandbox.deliveries() == []


def test_a_stored_contact_gone_from_ghl_fails_the_card_without_a_send(ghl_sandbox, day):
    card = queued_card(lead=make_lead(email="moved@acme.example", ghl_contact_id="deletedcontact000001"))

    assert send_card(card.pk).outcome == "failed"

    assert [endpoint for endpoint, _ in calls(ghl_sandbox)] == ["contacts.get"]
    card.refresh_from_db()
    assert (card.status, card.last_error) == (CardStatus.FAILED, "Not sent: GHL has no contact deletedcontact000001 (deleted or merged)")
    assert deliveries_of(ghl_sandbox, card) == []
    assert DispatchAttempt.objects.get(card=card).outcome == "failed"


def test_a_first_touch_to_a_contact_with_dnd_is_refused_on_upsert_s_answer(ghl_sandbox, day):
    ghl_sandbox.add_contact("dnd-new@acme.example", dndSettings={"Email": {"status": "active"}})
    card = queued_card(lead=make_lead(email="dnd-new@acme.example"))

    assert send_card(card.pk).outcome == "failed"

    assert calls(ghl_sandbox) == [("contacts.upsert", 200)]
    card.refresh_from_db()
    assert card.status == CardStatus.FAILED and "has Email DND (active)" in card.last_error
    assert deliveries_of(ghl_sandbox, card) == []


def test_a_refusal_of_the_send_itself_fails_without_a_second_send(ghl_sandbox, day):
    contact = ghl_sandbox.add_contact("gone@acme.example", unsubscribed=True)
    card = queued_card(lead=make_lead(email="gone@acme.example", ghl_contact_id=contact["id"]))

    assert send_card(card.pk).outcome == "failed"

    assert calls(ghl_sandbox) == [("contacts.get", 200), ("conversations.send", 400)]
    card.refresh_from_db()
    assert card.status == CardStatus.FAILED and "has unsubscribed" in card.last_error
    assert deliveries_of(ghl_sandbox, card) == []


def test_an_ambiguous_answer_to_a_known_contact_is_never_followed_by_a_resend(ghl_sandbox, day):
    # A 502 may mean GHL sent it: only reconcile may decide, never a second send.
    contact = ghl_sandbox.add_contact("maybe@acme.example")
    card = queued_card(lead=make_lead(email="maybe@acme.example", ghl_contact_id=contact["id"]))
    ghl_sandbox.add_fault("conversations.send", "error", status=502, count=1, deliver=True)

    assert send_card(card.pk).outcome == "unknown"

    assert calls(ghl_sandbox) == [("contacts.get", 200), ("conversations.send", 502)]
    assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.UNKNOWN
    assert len(deliveries_of(ghl_sandbox, card)) == 1
