"""The job body: re-check, mark sending (committed), send once, record the outcome."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ghl.client import Contact
from ghl.errors import (
    GhlAuthError,
    GhlConnectionError,
    GhlRateLimited,
    GhlServerError,
    GhlTimeout,
    GhlValidationError,
)
from outreach.approval import approval_record
from outreach.sending.job import send_card
from outreach.sending.render import render_email
from outreach.jobs import dispatch_card
from outreach.models import CardStatus, CardTransition, DispatchAttempt, Lead, PendingEmail
from ramp.days import ramp_day
from ramp.holds import raise_hold
from tests.dispatch.helpers import fake_client, green_gates, patch_client, queued_card

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def day():
    green_gates(daily_cap=5)
    day = ramp_day()
    day.dispatched_count = 1
    day.is_live = True
    day.save()
    return day


def _path(card) -> list[str]:
    return [f"{t.from_status}>{t.to_status}" for t in CardTransition.objects.filter(card=card).order_by("id")]


def test_it_sends_a_queued_card_once_and_records_everything(day):
    card = queued_card()
    client = fake_client()
    seen_status = []
    client.send_email.side_effect = lambda **kw: seen_status.append(
        PendingEmail.objects.get(pk=card.pk).status
    ) or fake_client().send_email.return_value

    with patch_client(client):
        outcome = dispatch_card(card.pk)

    assert outcome == "sent"
    # It should have committed `sending` before the request left.
    assert seen_status == [CardStatus.SENDING]
    card.refresh_from_db()
    assert card.status == CardStatus.SENT and card.sent_at is not None
    assert (card.ghl_contact_id, card.ghl_conversation_id, card.ghl_message_id, card.ghl_email_message_id) == (
        "contact00000000000001", "conv0000000000000001", "msg00000000000000001", "eml00000000000000001"
    )
    assert Lead.objects.get(pk=card.lead_id).ghl_contact_id == "contact00000000000001"
    assert _path(card) == ["queued>sending", "sending>sent"]
    attempt = DispatchAttempt.objects.get(card=card)
    assert attempt.outcome == "sent" and attempt.finished_at is not None
    day.refresh_from_db()
    assert (day.sent_count, day.error_count) == (1, 0)
    client.send_email.assert_called_once()
    sent_kwargs = client.send_email.call_args.kwargs
    assert f"<!-- caio:{card.idempotency_key} -->" in sent_kwargs["html"]
    assert card.idempotency_key in sent_kwargs["text"]
    assert sent_kwargs["subject"] == card.subject and sent_kwargs["contact_id"] == "contact00000000000001"

    # Running the job again sends nothing more.
    with patch_client(client):
        assert dispatch_card(card.pk) == "skipped"
    client.send_email.assert_called_once()


def test_the_email_carries_exactly_the_approved_text():
    card = queued_card(body="Hi Celia,\n\n<script>alert(1)</script> & <b>more</b>\n\nBest,\nAlex Rivera")
    html, text = render_email(card)
    assert text.startswith(card.full_text)
    # What the reviewer approved as text reaches the contact as text, never as markup.
    assert "<script" not in html and "<b>" not in html and "<p>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;more&lt;/b&gt;" in html


def test_it_does_nothing_for_a_card_that_is_not_queued(day):
    card = queued_card()
    PendingEmail.objects.filter(pk=card.pk).update(status=CardStatus.SENT, sent_at=timezone.now(), ghl_message_id="msg1")
    client = fake_client()
    with patch_client(client):
        assert send_card(card.pk).outcome == "skipped"
    client.resolve_contact.assert_not_called()
    assert not DispatchAttempt.objects.exists()


def test_a_hold_releases_the_card_and_sends_nothing(day):
    card = queued_card()
    raise_hold(reason="complaint spike", raised_by="pto")
    client = fake_client()

    with patch_client(client):
        assert send_card(card.pk).outcome == "released"

    client.resolve_contact.assert_not_called()
    client.send_email.assert_not_called()
    card.refresh_from_db()
    assert card.status == CardStatus.APPROVED and card.queued_at is None
    assert "complaint spike" in CardTransition.objects.filter(card=card).last().reason
    day.refresh_from_db()
    # Its slot goes back to the day: nothing was sent with it.
    assert day.dispatched_count == 0


@pytest.mark.parametrize(
    ("lead_change", "expected"),
    [
        ({"do_not_contact": True, "do_not_contact_reason": "asked by phone"}, "do-not-contact: asked by phone"),
        ({"unsubscribed_at": timezone.now()}, "unsubscribed"),
        ({"bounced_at": timezone.now()}, "bounced"),
    ],
    ids=["do-not-contact", "unsubscribed", "bounced"],
)
def test_a_lead_suppressed_after_approval_is_not_sent(day, lead_change, expected):
    card = queued_card()
    Lead.objects.filter(pk=card.lead_id).update(**lead_change)
    client = fake_client()

    with patch_client(client):
        assert send_card(card.pk).outcome == "failed"

    client.send_email.assert_not_called()
    card.refresh_from_db()
    assert card.status == CardStatus.FAILED
    assert expected in card.last_error
    assert expected in CardTransition.objects.get(card=card, to_status="failed").reason


def test_a_card_edited_after_approval_goes_back_to_review(day):
    card = queued_card()
    PendingEmail.objects.filter(pk=card.pk).update(subject="A different subject")
    client = fake_client()

    with patch_client(client):
        assert send_card(card.pk).outcome == "returned"

    client.send_email.assert_not_called()
    card.refresh_from_db()
    assert card.status == CardStatus.PENDING
    assert "subject changed after approval" in CardTransition.objects.filter(card=card).last().reason
    assert (card.approved_content_hash, card.reviewed_by) == ("", None)


def test_a_contact_with_email_dnd_is_refused_locally(day):
    card = queued_card()
    client = fake_client(contact=Contact(id="c1", email="x@y.z", dnd=False, email_dnd_status="permanent"))

    with patch_client(client):
        assert send_card(card.pk).outcome == "failed"

    client.send_email.assert_not_called()
    card.refresh_from_db()
    assert card.status == CardStatus.FAILED and "Email DND (permanent)" in card.last_error


@pytest.mark.parametrize(
    "error",
    [GhlRateLimited("Too Many Requests", status=429, retry_after=7), GhlConnectionError("refused")],
    ids=["429", "connection-refused"],
)
def test_a_safe_failure_requeues_with_a_delay(day, redis_conn, error):
    card = queued_card()
    client = fake_client()
    client.send_email.side_effect = error

    with patch_client(client):
        assert send_card(card.pk).outcome == "retry"

    card.refresh_from_db()
    assert card.status == CardStatus.QUEUED
    assert _path(card) == ["queued>sending", "sending>queued"]
    assert DispatchAttempt.objects.get(card=card).outcome == "retry"

    import django_rq
    from rq.registry import ScheduledJobRegistry

    queue = django_rq.get_queue("dispatch")
    registry = ScheduledJobRegistry(queue=queue)
    (job_id,) = registry.get_job_ids()
    assert job_id.startswith(f"dispatch-{card.code.hex}-")
    delay = registry.get_scheduled_time(job_id) - timezone.now()
    expected = 7 if isinstance(error, GhlRateLimited) else 10
    assert expected - 1 <= delay.total_seconds() <= expected + 1
    day.refresh_from_db()
    assert day.error_count == 0


@pytest.mark.parametrize(
    "error", [GhlServerError("Internal server error", status=500), GhlTimeout("read timeout")], ids=["5xx", "timeout"]
)
def test_an_ambiguous_failure_marks_the_card_unknown(day, error):
    card = queued_card()
    client = fake_client()
    client.send_email.side_effect = error

    with patch_client(client):
        assert send_card(card.pk).outcome == "unknown"

    card.refresh_from_db()
    assert card.status == CardStatus.UNKNOWN
    assert card.ghl_contact_id == "contact00000000000001"
    assert DispatchAttempt.objects.get(card=card).outcome == "unknown"
    day.refresh_from_db()
    assert day.error_count == 1 and day.sent_count == 0


@pytest.mark.parametrize(
    "error",
    [GhlValidationError("Cannot send message as DND is active for Email.", status=400), GhlAuthError("Invalid JWT", status=401)],
    ids=["validation", "auth"],
)
def test_a_permanent_failure_fails_the_card(day, error):
    card = queued_card()
    client = fake_client()
    client.send_email.side_effect = error

    with patch_client(client):
        assert send_card(card.pk).outcome == "failed"

    card.refresh_from_db()
    assert card.status == CardStatus.FAILED and error.message in card.last_error
    attempt = DispatchAttempt.objects.get(card=card)
    assert (attempt.outcome, attempt.http_status) == ("failed", error.status)
    day.refresh_from_db()
    assert day.error_count == 1
    client.send_email.assert_called_once()


def test_a_failure_while_resolving_the_contact_is_retried_without_sending(day, redis_conn):
    card = queued_card()
    client = fake_client()
    client.resolve_contact.side_effect = GhlServerError("Internal server error", status=502)

    with patch_client(client):
        assert send_card(card.pk).outcome == "retry"

    client.send_email.assert_not_called()
    card.refresh_from_db()
    assert card.status == CardStatus.QUEUED and _path(card) == []


def test_a_hold_raised_while_the_contact_is_resolved_still_stops_the_email(day):
    card = queued_card()
    client = fake_client()
    contact = client.resolve_contact.return_value

    def resolve_then_hold(**kwargs):
        raise_hold(reason="raised mid-flight", raised_by="pto")
        return contact

    client.resolve_contact.side_effect = resolve_then_hold
    with patch_client(client):
        assert send_card(card.pk).outcome == "released"

    client.send_email.assert_not_called()
    card.refresh_from_db()
    assert card.status == CardStatus.APPROVED
    assert DispatchAttempt.objects.get(card=card).outcome == "skipped"


def test_a_reply_that_arrives_while_the_contact_is_resolved_still_stops_the_email(day):
    card = queued_card()
    client = fake_client()
    contact = client.resolve_contact.return_value

    def resolve_then_reply(**kwargs):
        # The reply webhook lands while we wait on GHL; it moves no card by itself.
        Lead.objects.filter(pk=card.lead_id).update(replied_at=timezone.now())
        return contact

    client.resolve_contact.side_effect = resolve_then_reply
    with patch_client(client):
        assert send_card(card.pk).outcome == "failed"

    client.send_email.assert_not_called()
    card.refresh_from_db()
    assert card.status == CardStatus.FAILED
    assert "replied" in card.last_error


def test_a_card_edited_and_reapproved_while_the_contact_is_resolved_goes_out_as_reapproved(day):
    # While this job waits on GHL, another job releases the card (a hold that was
    # cleared since), a reviewer edits it, a second one approves the new text and a
    # new cycle claims it: the version that leaves must be the one approved last.
    card = queued_card(subject="Old subject")
    client = fake_client()
    contact = client.resolve_contact.return_value

    def resolve_while_the_card_is_reworked(**kwargs):
        rework = PendingEmail.objects.get(pk=card.pk)
        rework.subject = "New subject"
        PendingEmail.objects.filter(pk=card.pk).update(subject="New subject", **approval_record(rework))
        return contact

    client.resolve_contact.side_effect = resolve_while_the_card_is_reworked
    with patch_client(client):
        assert send_card(card.pk).outcome == "sent"

    client.send_email.assert_called_once()
    assert client.send_email.call_args.kwargs["subject"] == "New subject"


def test_text_changed_without_approval_while_the_contact_is_resolved_is_never_sent(day):
    card = queued_card()
    client = fake_client()
    contact = client.resolve_contact.return_value

    def resolve_while_the_text_changes(**kwargs):
        PendingEmail.objects.filter(pk=card.pk).update(body="Unreviewed text")
        return contact

    client.resolve_contact.side_effect = resolve_while_the_text_changes
    with patch_client(client):
        assert send_card(card.pk).outcome == "failed"

    client.send_email.assert_not_called()
    card.refresh_from_db()
    assert card.status == CardStatus.FAILED


def test_safe_retries_are_not_endless(day, redis_conn):
    from outreach.sending import job

    card = queued_card()
    for _ in range(job.MAX_SAFE_RETRIES - 1):
        DispatchAttempt.objects.create(card=card, outcome="retry")
    client = fake_client()
    client.send_email.side_effect = GhlConnectionError("refused")

    with patch_client(client):
        assert send_card(card.pk).outcome == "failed"

    card.refresh_from_db()
    assert card.status == CardStatus.FAILED and "Retries used up" in card.last_error
