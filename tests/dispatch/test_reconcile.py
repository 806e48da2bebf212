"""Reconcile settles ambiguous sends by asking GHL; verify_sent checks sent cards exist there."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ghl.client import SentMessage
from ghl.errors import GhlError, GhlServerError
from outreach.sending.reconcile import reconcile, verify_sent
from outreach.models import CardStatus, PendingEmail
from ramp.days import operating_date, ramp_day
from tests.dispatch.helpers import fake_client, green_gates, patch_client, queued_card

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

FOUND = SentMessage(conversation_id="convA", message_id="msgA", email_message_id="emlA")


def _doubtful(status: str, *, age: timedelta = timedelta(minutes=10)):
    card = queued_card()
    PendingEmail.objects.filter(pk=card.pk).update(
        status=status, ghl_contact_id="contactA", updated_at=timezone.now() - age
    )
    card.refresh_from_db()
    return card


@pytest.fixture(autouse=True)
def day():
    green_gates()
    return ramp_day()


@pytest.mark.parametrize("status", [CardStatus.UNKNOWN, CardStatus.SENDING])
def test_a_message_ghl_has_is_settled_as_sent(status, redis_conn):
    card = _doubtful(status)
    client = fake_client()
    client.find_sent_email.return_value = FOUND

    with patch_client(client):
        report = reconcile(apply=True)

    assert report.sent == [card.pk]
    client.find_sent_email.assert_called_once_with("contactA", card.idempotency_key, message_id="")
    card.refresh_from_db()
    assert (card.status, card.ghl_message_id, card.ghl_conversation_id) == (CardStatus.SENT, "msgA", "convA")
    assert ramp_day().sent_count == 1


@pytest.mark.parametrize("status", [CardStatus.UNKNOWN, CardStatus.SENDING])
def test_a_message_ghl_confirms_absent_is_queued_for_one_resend(status, redis_conn):
    card = _doubtful(status)
    client = fake_client()

    with patch_client(client):
        report = reconcile(apply=True)

    assert report.requeued == [card.pk]
    card.refresh_from_db()
    assert card.status == CardStatus.QUEUED
    import django_rq

    (job_id,) = django_rq.get_queue("dispatch").job_ids
    assert job_id.startswith(f"dispatch-{card.code.hex}-")


@pytest.mark.parametrize(
    "error",
    [
        GhlServerError("Internal server error", status=500),
        # Any GhlError, e.g. a conversation listing GHL could not give in full, proves nothing.
        GhlError("conversation listing incomplete: page 2 of 3 missing"),
    ],
    ids=["server error", "incomplete listing"],
)
def test_it_leaves_cards_alone_when_ghl_cannot_be_read(redis_conn, error):
    card = _doubtful(CardStatus.UNKNOWN)
    client = fake_client()
    client.find_sent_email.side_effect = error

    with patch_client(client):
        report = reconcile(apply=True)

    assert report.left == [(card.pk, f"GHL could not confirm, left unknown: {error}")]
    assert report.requeued == report.sent == []
    card.refresh_from_db()
    assert card.status == CardStatus.UNKNOWN


@pytest.mark.parametrize(
    "status",
    [CardStatus.SENDING, CardStatus.UNKNOWN],
    ids=["sending: left to its worker", "unknown: GHL may still be recording it"],
)
def test_a_card_that_just_became_doubtful_is_left_alone_for_the_grace(status, redis_conn):
    # A worker may still be sending; after a read timeout GHL may still be writing
    # the message. "Absent" seconds later is no confirmation: a resend would deliver twice.
    card = _doubtful(status, age=timedelta(seconds=5))
    client = fake_client()

    with patch_client(client):
        report = reconcile(apply=True)

    client.find_sent_email.assert_not_called()
    assert report.as_dict() == {
        "applied": True, "sent": [], "requeued": [], "reenqueued": [], "has_job": [], "left": [],
        "waiting": [{"pk": card.pk, "status": status}],
    }
    card.refresh_from_db()
    assert card.status == status


def test_the_command_counts_in_flight_cards_within_the_grace_apart_from_the_unsettled(redis_conn):
    # Three cards a live cycle just claimed: no failure, nothing to settle yet, but not "0 left" either.
    cards = [_doubtful(status, age=timedelta(seconds=5)) for status in (CardStatus.QUEUED, CardStatus.SENDING, CardStatus.UNKNOWN)]
    out = StringIO()
    with patch_client(fake_client()):
        call_command("reconcile", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert f"card {cards[1].pk}: sending, changed less than 120 s ago -> left alone until the grace period ends" in text
    assert "0 could not be settled, 3 in flight within the 120 s grace period (run reconcile again after it)." in text


def test_a_queued_card_whose_job_was_lost_is_enqueued_again(redis_conn):
    card = _doubtful(CardStatus.QUEUED)
    with patch_client(fake_client()):
        report = reconcile(apply=True)
    assert report.reenqueued == [card.pk]


def test_a_queued_card_whose_job_still_waits_for_its_retry_is_not_enqueued_again(redis_conn, caplog):
    import django_rq

    from outreach.sending.queue import enqueue_card

    # A 429 put these cards back with a retry scheduled; the storm outlasts the grace.
    waiting = [_doubtful(CardStatus.QUEUED) for _ in range(3)]
    for card in waiting:
        enqueue_card(card.pk, card.code.hex, again=True, delay=timedelta(minutes=5))
    lost = _doubtful(CardStatus.QUEUED)
    queue = django_rq.get_queue("dispatch")

    with patch_client(fake_client()), caplog.at_level("INFO", logger="outreach.sending.reconcile"):
        first = reconcile(apply=True)
        second = reconcile(apply=True)

    assert first.reenqueued == [lost.pk] and first.has_job == [c.pk for c in waiting]
    # The lost card now has its job again: the second run enqueues nothing at all.
    assert second.reenqueued == [] and sorted(second.has_job) == sorted([c.pk for c in waiting] + [lost.pk])
    assert len(queue.job_ids) == 1 and len(queue.scheduled_job_registry.get_job_ids()) == 3
    assert "reconcile: 1 re-enqueued, 3 queued card(s) left to the job they still have" in caplog.text
    assert "reconcile: 0 re-enqueued, 4 queued card(s) left to the job they still have" in caplog.text


def test_the_command_exits_non_zero_when_a_card_stays_unsettled(redis_conn):
    _doubtful(CardStatus.UNKNOWN)
    client = fake_client()
    client.find_sent_email.side_effect = GhlServerError("down", status=503)
    out = StringIO()
    with patch_client(client), pytest.raises(CommandError, match="could not be settled"):
        call_command("reconcile", "--apply", stdout=out, stderr=StringIO())
    assert "0 settled as sent" in out.getvalue()


def _sent_card(message_id: str = "msgA"):
    card = queued_card()
    PendingEmail.objects.filter(pk=card.pk).update(
        status=CardStatus.SENT, sent_at=timezone.now(), ghl_contact_id="contactA", ghl_message_id=message_id
    )
    return card


def test_verify_sent_passes_when_every_message_is_in_ghl_with_one_line_a_card(caplog):
    import logging

    card = _sent_card()
    client = fake_client()

    def found(*args, **kwargs):
        # What the real client logs for each of its reads.
        logging.getLogger("ghl.client").info("ghl GET conversations.search -> 200")
        return FOUND

    client.find_sent_email.side_effect = found
    out = StringIO()
    with patch_client(client), caplog.at_level(logging.INFO):
        call_command("verify_sent", stdout=out)
    assert f"  found card {card.pk}: {card.lead.email}: message msgA is in GHL" in out.getvalue()
    assert "1 sent card(s) checked, 0 missing" in out.getvalue()
    assert not [r for r in caplog.records if r.name == "ghl.client"]
    # With -v 2 the client's own request log is shown again.
    with patch_client(client), caplog.at_level(logging.INFO):
        call_command("verify_sent", "-v", "2", stdout=StringIO())
    assert [r for r in caplog.records if r.name == "ghl.client"]


def test_verify_sent_reports_missing_messages_and_exits_non_zero():
    missing = _sent_card()
    client = fake_client()
    report_out = StringIO()
    with patch_client(client), pytest.raises(CommandError, match="1 sent card"):
        call_command("verify_sent", "--date", operating_date().isoformat(), stdout=report_out)
    assert f"MISSING card {missing.pk}" in report_out.getvalue()

    with patch_client(client):
        assert verify_sent(operating_date() - timedelta(days=1)).checked == 0


def test_verify_sent_rejects_a_bad_date():
    with pytest.raises(CommandError, match="--date must be YYYY-MM-DD"):
        call_command("verify_sent", "--date", "21/11/2026")


def test_without_apply_reconcile_reads_ghl_and_changes_nothing(redis_conn):
    found = _doubtful(CardStatus.UNKNOWN)
    absent = _doubtful(CardStatus.SENDING)
    lost = _doubtful(CardStatus.QUEUED)
    client = fake_client()
    client.find_sent_email.side_effect = lambda contact, marker, message_id: FOUND if marker == found.idempotency_key else None
    out = StringIO()

    with patch_client(client):
        call_command("reconcile", stdout=out, stderr=StringIO())

    text = out.getvalue()
    assert f"card {found.pk}: GHL has it -> would be sent" in text
    assert f"card {absent.pk}: GHL confirms absent -> would be queued again" in text
    assert f"card {lost.pk}: queued without progress -> job would be enqueued again" in text
    assert "Dry run: 1 would be settled as sent, 1 would be re-queued, 1 would be re-enqueued" in text
    statuses = dict(PendingEmail.objects.filter(pk__in=[found.pk, absent.pk, lost.pk]).values_list("pk", "status"))
    assert statuses == {found.pk: CardStatus.UNKNOWN, absent.pk: CardStatus.SENDING, lost.pk: CardStatus.QUEUED}
    import django_rq

    assert django_rq.get_queue("dispatch").job_ids == []
    assert ramp_day().sent_count == 0

    with patch_client(client):
        report = reconcile(apply=True)
    assert (report.sent, report.requeued, report.reenqueued) == ([found.pk], [absent.pk], [lost.pk])
