"""Reconcile reads the whole conversation, in either shape GHL answers, or decides nothing."""

from __future__ import annotations

from datetime import timedelta

import django_rq
import pytest

from outreach.sending.job import send_card
from outreach.sending.reconcile import reconcile
from outreach.sending.select import start_live_cycle
from outreach.models import CardStatus, PendingEmail
from tests.dispatch.helpers import approved_card, green_gates

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

SEND = "conversations.send"
PAGE = 2


def unknown_card_on_page_three(ghl_sandbox, operator):
    """A card whose send GHL recorded but answered 500, followed by four newer emails to the same contact.

    Newest first, two to a page, the card's email is the fifth message: on page 3.
    """
    green_gates(daily_cap=1)
    card = approved_card()
    start_live_cycle(operator=operator)
    ghl_sandbox.add_fault(SEND, "error", status=500, count=1, deliver=True)
    assert send_card(card.pk).outcome == "unknown"
    card.refresh_from_db()
    assert card.status == CardStatus.UNKNOWN and card.ghl_contact_id
    client = ghl_sandbox.client()
    for n in range(4):
        client.send_email(contact_id=card.ghl_contact_id, subject=f"Later {n}", html=f"<p>later {n}</p>", text="")
    return card


@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_reconcile_finds_a_sent_email_on_the_third_page(ghl_sandbox, operator, redis_conn, shape, django_capture_on_commit_callbacks):
    card = unknown_card_on_page_three(ghl_sandbox, operator)
    ghl_sandbox.configure(messages_list_shape=shape, messages_page_size=PAGE)
    delivered = len(ghl_sandbox.deliveries())

    with django_capture_on_commit_callbacks(execute=True):
        report = reconcile(apply=True, grace=timedelta(0))

    assert report.sent == [card.pk] and report.requeued == [] and report.left == []
    card.refresh_from_db()
    assert card.status == CardStatus.SENT
    pages = [r for r in ghl_sandbox.requests() if r["endpoint"] == "conversations.messages"]
    assert len(pages) == 3
    assert len(ghl_sandbox.deliveries()) == delivered  # found, so nothing resent
    assert django_rq.get_queue("dispatch").count == 0


@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_a_failing_second_page_leaves_the_card_unknown_and_sends_nothing(
    ghl_sandbox, operator, redis_conn, shape, django_capture_on_commit_callbacks
):
    card = unknown_card_on_page_three(ghl_sandbox, operator)
    ghl_sandbox.configure(messages_list_shape=shape, messages_page_size=PAGE)
    # Page 1 answers; page 2 fails however often it is asked.
    ghl_sandbox.add_fault("conversations.messages", "error", status=500, skip=1)
    delivered = len(ghl_sandbox.deliveries())

    with django_capture_on_commit_callbacks(execute=True):  # an enqueue would really happen
        report = reconcile(apply=True, grace=timedelta(0))

    assert report.sent == [] and report.requeued == []
    ((pk, reason),) = report.left
    assert pk == card.pk and "page 2 unread" in reason and "HTTP 500" in reason
    card.refresh_from_db()
    assert card.status == CardStatus.UNKNOWN
    assert len(ghl_sandbox.deliveries()) == delivered
    assert django_rq.get_queue("dispatch").count == 0


def test_an_outbound_email_with_unreadable_ids_leaves_the_card_unknown_and_sends_nothing(
    ghl_sandbox, operator, redis_conn, django_capture_on_commit_callbacks
):
    card = unknown_card_on_page_three(ghl_sandbox, operator)
    # Meta left out of the listing (the spec allows it): the emails cannot be read.
    ghl_sandbox.configure(email_ids_shape="absent")
    delivered = len(ghl_sandbox.deliveries())

    with django_capture_on_commit_callbacks(execute=True):
        report = reconcile(apply=True, grace=timedelta(0))

    assert report.sent == [] and report.requeued == []
    ((pk, reason),) = report.left
    assert pk == card.pk and "names no email id we can read" in reason
    card.refresh_from_db()
    assert card.status == CardStatus.UNKNOWN
    assert len(ghl_sandbox.deliveries()) == delivered
    assert django_rq.get_queue("dispatch").count == 0


def test_the_spec_examples_email_id_shape_is_found_and_not_resent(
    ghl_sandbox, operator, redis_conn, django_capture_on_commit_callbacks
):
    card = unknown_card_on_page_three(ghl_sandbox, operator)
    ghl_sandbox.configure(email_ids_shape="meta.email.email")
    delivered = len(ghl_sandbox.deliveries())

    with django_capture_on_commit_callbacks(execute=True):
        report = reconcile(apply=True, grace=timedelta(0))

    assert report.sent == [card.pk] and report.left == []
    assert len(ghl_sandbox.deliveries()) == delivered


def test_verify_sent_reads_each_card_by_its_message_id_in_one_request(ghl_sandbox, redis_conn):
    from django.utils import timezone

    from outreach.sending.reconcile import verify_sent
    from ramp.days import operating_date
    from tests.factories import make_card, make_lead

    ghl_sandbox.configure(messages_page_size=PAGE)
    client = ghl_sandbox.client()
    for n in range(3):
        lead = make_lead(email=f"lead{n}@example.com")
        contact = client.upsert_contact(email=lead.email)
        sent = client.send_email(contact_id=contact.id, subject="Hi", html=f"<p>caio-v{n}</p>", text="")
        for later in range(5):  # the card's email is on the conversation's last page
            client.send_email(contact_id=contact.id, subject=f"Later {later}", html="<p>later</p>", text="")
        make_card(
            lead=lead, status=CardStatus.SENT, sent_at=timezone.now(), idempotency_key=f"caio-v{n}",
            ghl_contact_id=contact.id, ghl_conversation_id=sent.conversation_id,
            ghl_message_id=sent.message_id, ghl_email_message_id=sent.email_message_id,
        )
    before = len(ghl_sandbox.requests())

    report = verify_sent(operating_date())

    assert report.ok and report.checked == 3
    assert [r["endpoint"] for r in ghl_sandbox.requests()[before:]] == ["conversations.message"] * 3
