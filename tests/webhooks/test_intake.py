"""Webhook intake at rate: one transaction a delivery, a savepoint around the apply, few queries, one writer at a time."""

from __future__ import annotations

import fcntl
import os
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection

from outreach.inbound import webhooks
from outreach.models import EmailEvent, Lead, Reply, WebhookDelivery
from tests.webhooks.test_receive import envelope, post, sent_card, stats, webhook_key  # noqa: F401  (autouse fixture)


def test_an_event_failing_half_way_is_stored_with_none_of_its_changes_then_retried(db, client):
    card = sent_card()
    # The email event is written, then the suppression fails: the savepoint takes the event back.
    with mock.patch("outreach.inbound.webhooks.suppress_lead", side_effect=RuntimeError("suppression store down")):
        response = post(client, stats("unsubscribed", "em123", "w-half"))

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.processed_at, delivery.attempts) == (None, 1)
    assert delivery.error == "RuntimeError: suppression store down"
    assert not EmailEvent.objects.exists()
    assert Lead.objects.get(pk=card.lead_id).unsubscribed_at is None

    call_command("process_webhooks", verbosity=0)

    delivery.refresh_from_db()
    assert delivery.processed_at is not None and delivery.attempts == 2
    assert EmailEvent.objects.get().kind == "unsubscribed"
    assert Lead.objects.get(pk=card.lead_id).unsubscribed_at is not None


def test_a_look_up_that_fails_before_storing_still_stores_and_applies_the_delivery(db, client):
    card = sent_card()
    real_resolve = webhooks.resolve
    calls = []

    def resolve_failing_once(event):
        calls.append(event)
        if len(calls) == 1:
            raise DatabaseError("database is locked")
        return real_resolve(event)

    with mock.patch("outreach.inbound.webhooks.resolve", side_effect=resolve_failing_once):
        response = post(client, stats("opened", "em123", "w-look-again"))

    assert response.status_code == 200 and len(calls) == 2  # looked up again inside the apply
    event = EmailEvent.objects.get()
    assert (event.kind, event.card, event.lead) == ("opened", card, card.lead)
    assert WebhookDelivery.objects.get().processed_at is not None


def test_a_reply_carried_by_two_deliveries_counts_once(db, client):
    card = sent_card()
    Lead.objects.filter(pk=card.lead_id).update(ghl_contact_id="contact-2")
    fields = {"direction": "inbound", "messageType": "Email", "contactId": "contact-2", "messageId": "msg-1", "body": "Sounds good"}

    first = post(client, envelope("InboundMessage", "w-a", **fields))
    second = post(client, envelope("InboundMessage", "w-b", **fields))

    assert (first.status_code, second.status_code) == (200, 200)
    reply = Reply.objects.get()
    outcomes = dict(WebhookDelivery.objects.values_list("webhook_id", "outcome"))
    assert outcomes["w-b"] == f"duplicate reply {reply.pk}"
    assert EmailEvent.objects.filter(kind="replied").count() == 1


@pytest.mark.parametrize(
    ("name", "payload", "budget"),
    [
        # Card look-up; then the transaction (a savepoint in a test), the delivery, the
        # apply's savepoint, the email event, its release, the delivery marked processed, the release.
        ("email event for a sent card", lambda: stats("opened", "em123", "w-q1"), 8),
        # Lead and replied-to card look-ups; the transaction, the delivery, the apply's and the
        # reply's savepoints, the reply, its event, the reply->event link, the lead replied, its
        # enrollments stopped, two releases, the delivery marked processed, the release.
        (
            "reply",
            lambda: envelope("InboundMessage", "w-q2", direction="inbound", messageType="Email", contactId="contact-3", body="Tell me more"),
            15,
        ),
        # The card look-up; the transaction, the insert that finds the key taken, the release.
        ("repeat", lambda: stats("opened", "em123", "w-q1"), 4),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_delivery_costs_a_handful_of_queries(db, client, django_assert_max_num_queries, name, payload, budget):
    card = sent_card()
    Lead.objects.filter(pk=card.lead_id).update(ghl_contact_id="contact-3")
    if name == "repeat":
        assert post(client, payload()).status_code == 200

    with django_assert_max_num_queries(budget):
        response = post(client, payload())

    assert response.status_code == 200
    assert WebhookDelivery.objects.filter(processed_at__isnull=False).count() == 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the write turn queues SQLite writers; PostgreSQL locks rows")
def test_a_delivery_holds_the_sqlite_write_turn_against_other_processes(db):
    if connection.is_in_memory_db():
        pytest.skip("an in-memory database has one process")
    path = f"{connection.settings_dict['NAME']}-webhooks.lock"

    with webhooks._write_turn():
        # Another open file description of the lock file is what another gunicorn worker holds.
        other = os.open(path, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException:
            os.close(other)
            raise

    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the turn is free again
        fcntl.flock(other, fcntl.LOCK_UN)
    finally:
        os.close(other)


def test_only_the_webhook_url_skips_the_browser_layers(db, rf):
    from outreach.inbound.views import WebhookPathMiddleware

    passed_on = []
    middleware = WebhookPathMiddleware(lambda request: passed_on.append(request.path) or "the rest of the stack")

    assert middleware(rf.get("/admin/")) == "the rest of the stack"
    assert middleware(rf.get("/webhooks/ghl/extra")) == "the rest of the stack"
    assert middleware(rf.get("/webhooks/ghl/")).status_code == 405  # the webhook view itself answered
    assert passed_on == ["/admin/", "/webhooks/ghl/extra"]
