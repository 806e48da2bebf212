"""STOP means stop: a STOP reply through the sandbox, signed, over HTTP to the running app,
suppresses the lead before the webhook is answered, and the lead's queued card is not sent."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.utils import timezone

from compliance.models import Suppression
from outreach.reports.daily import day_activity
from outreach.jobs import dispatch_card
from outreach.models import CardStatus, EmailEvent, Enrollment, Lead, PendingEmail, RejectionTag, Reply
from outreach.roles import sync_roles
from outreach.sending.select import start_live_cycle
from ramp.days import operating_date
from tests.dispatch.conftest import spawner  # noqa: F401  (real rqworker processes on this database)
from tests.dispatch.helpers import approved_card, green_gates

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@pytest.fixture(autouse=True)
def _seeded(transactional_db):
    """Put back the rejection tags and roles that migrations seed: transactional tests flush them.

    Not through the migration's seed(): given the live app registry it leaves
    every app without its models module, and later tests without permissions.
    """
    for app_config in apps.get_app_configs():
        app_config.import_models()  # puts back a models module an earlier seed() call took away
        create_contenttypes(app_config, verbosity=0)
        create_permissions(app_config, verbosity=0)
    seed = importlib.import_module("outreach.migrations.0002_seed_tags_and_roles")
    for slug, label, description, system in seed.TAGS:
        RejectionTag.objects.update_or_create(slug=slug, defaults={"label": label, "description": description, "system": system})
    sync_roles(apps)


@pytest.fixture
def sent_and_queued(ghl_sandbox, live_server, operator, redis_conn):
    """A lead whose step 1 went out through a live cycle, and whose step 2 a second live cycle has queued."""
    ghl_sandbox.configure(webhook_url=f"{live_server.url}/webhooks/ghl/", auto_events=[])
    green_gates(daily_cap=5, per_company_daily_cap=2)
    first = approved_card()
    start_live_cycle(operator=operator)
    assert dispatch_card(first.pk) == "sent"
    first.refresh_from_db()
    Enrollment.objects.create(lead=first.lead, campaign=first.campaign, current_step=2)
    second = approved_card(lead=first.lead, campaign=first.campaign, step_number=2)
    assert [c.pk for c in start_live_cycle(operator=operator).claimed] == [second.pk]
    second.refresh_from_db()
    assert second.status == CardStatus.QUEUED
    return ghl_sandbox, first, second


def _reply(sandbox, card, body: str, subject: str = "") -> dict:
    spec = {"message_id": card.ghl_message_id, "body": body}
    if subject:
        spec["subject"] = subject
    result = sandbox.trigger("InboundMessage", **spec)
    assert [d["final_status"] for d in result["deliveries"]] == [200]
    return result


def test_a_stop_reply_suppresses_the_lead_before_the_answer_and_its_queued_card_is_not_sent(sent_and_queued, spawner):  # noqa: F811
    sandbox, first, second = sent_and_queued
    quoted = "<div>STOP</div><blockquote>Hi Celia,<br>Reply STOP to unsubscribe.</blockquote>"

    _reply(sandbox, first, quoted)

    # trigger() returns once the app answered: everything below was committed before that answer.
    lead = Lead.objects.get(pk=first.lead_id)
    assert lead.unsubscribed_at is not None and lead.replied_at is None
    assert Suppression.objects.filter(lead_id=lead.pk, kind="unsubscribed", source__startswith="reply ").count() == 1
    second.refresh_from_db()
    assert (second.status, second.last_error) == (CardStatus.FAILED, "lead unsubscribed")
    assert Enrollment.objects.get(lead=lead).stop_reason == "unsubscribed"
    reply = Reply.objects.get()
    assert (reply.classification, reply.card_id, reply.event.kind) == ("opt_out", first.pk, "unsubscribed")
    # Counted as an unsubscribe, not a reply.
    assert list(EmailEvent.objects.filter(lead=lead).values_list("kind", flat=True)) == ["unsubscribed"]
    activity = day_activity(operating_date())
    assert (activity.replies, activity.unsubscribes) == (0, 1)

    # The job already in Redis runs in a real worker: its re-check sees the suppression.
    spawner.run_burst_worker()
    assert PendingEmail.objects.get(pk=second.pk).status == CardStatus.FAILED
    assert [d["subject"] for d in sandbox.deliveries(lead.email)] == [first.subject]


def test_a_suppression_learnt_after_the_claim_stops_the_job_itself(sent_and_queued):
    sandbox, first, second = sent_and_queued
    # The flag set without the service leaves the card queued: only the job's own re-check stands between.
    Lead.objects.filter(pk=first.lead_id).update(unsubscribed_at=timezone.now())

    assert dispatch_card(second.pk) == "failed"
    assert [d["subject"] for d in sandbox.deliveries(first.lead.email)] == [first.subject]


def test_an_out_of_office_reply_leaves_the_sequence_and_the_queued_card_alone(sent_and_queued):
    sandbox, first, second = sent_and_queued

    _reply(sandbox, first, "<p>I am out of the office until Monday with limited access to email.</p>", "Automatic reply: Hello")

    lead = Lead.objects.get(pk=first.lead_id)
    assert (lead.unsubscribed_at, lead.replied_at) == (None, None)
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.ACTIVE
    assert PendingEmail.objects.get(pk=second.pk).status == CardStatus.QUEUED
    assert Reply.objects.get().event.kind == "auto_replied"
    assert day_activity(operating_date()).replies == 0


def test_an_interested_reply_stops_the_sequence_and_counts_as_a_reply(sent_and_queued):
    sandbox, first, second = sent_and_queued

    _reply(sandbox, first, "<p>Sounds good, let's talk Thursday.</p><blockquote>Reply STOP to unsubscribe</blockquote>")

    lead = Lead.objects.get(pk=first.lead_id)
    assert lead.unsubscribed_at is None and lead.replied_at is not None
    assert Enrollment.objects.get(lead=lead).stop_reason == "replied"
    assert Reply.objects.get().classification == "interested"
    assert (day_activity(operating_date()).replies, day_activity(operating_date()).unsubscribes) == (1, 0)
    # The queued card is held back by its job's re-check: the lead replied.
    assert dispatch_card(second.pk) == "failed"
    assert "replied" in PendingEmail.objects.get(pk=second.pk).last_error
