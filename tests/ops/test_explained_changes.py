"""Changes made by recorded operations (cleanup, decisions, sends) are explained in the next trace, not drift."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from outreach.models import CardStatus, PendingEmail
from outreach.transitions import record_drafted, transition
from ramp.models import QueueTrace, RampDay
from outreach.approval import approval_record
from tests.factories import a_rejection_tag, approval_fields, make_card, make_lead, reviewer
from tests.ramp.helpers import IN_WINDOW

pytestmark = pytest.mark.django_db


def trace(*args: str) -> dict:
    out = StringIO()
    call_command("trace_queue", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def stale_queue():
    """The runbook's morning: 14 stale cards and 2 fresh ones, traced once as the baseline."""
    with time_machine.travel(IN_WINDOW, tick=False) as clock:
        stale = [make_card(age_hours=80) for _ in range(14)]
        fresh = [make_card(), make_card()]
        trace()
        # What follows happens after the baseline, as it does on a real morning.
        clock.shift(dt.timedelta(minutes=5))
        yield stale, fresh


def test_cleanup_then_trace_flags_no_drift_and_names_the_cleanup(stale_queue):
    stale, _ = stale_queue
    call_command("cleanup_queue", "--apply", stdout=StringIO())

    out = StringIO()
    call_command("trace_queue", stdout=out)

    text = out.getvalue()
    assert "by_status pending -14, rejected +14" in text
    assert "explained by cleanup_queue: 14 card(s) pending -> rejected" in text
    assert "No drift." in text and "DRIFT" not in text
    latest = QueueTrace.objects.order_by("-pk").first()
    assert latest.drift_flagged is False
    assert latest.drift["explained"] == ["cleanup_queue: 14 card(s) pending -> rejected"]


def test_the_same_change_that_nothing_recorded_is_drift(stale_queue):
    stale, _ = stale_queue
    # Cards rejected behind the product's back: no transition explains them.
    PendingEmail.objects.filter(pk__in=[c.pk for c in stale]).update(status=CardStatus.REJECTED, rejection_tag=a_rejection_tag())

    with pytest.raises(CommandError, match="Queue drift flagged"):
        call_command("trace_queue", stdout=StringIO())

    drift = QueueTrace.objects.order_by("-pk").first().drift
    assert "by_status pending: -14 (threshold 1)" in drift["flags"]
    assert drift["explained"] == []


def test_review_decisions_and_sends_are_explained_but_new_cards_nothing_recorded_still_flag(stale_queue):
    _, fresh = stale_queue
    approved = transition(fresh[0], CardStatus.APPROVED, actor_label="hos", reviewed_by=reviewer(), **approval_record(fresh[0]))
    transition(approved, CardStatus.QUEUED)
    transition(fresh[1], CardStatus.REJECTED, actor_label="hos", rejection_tag=a_rejection_tag())
    for _ in range(6):
        make_card(lead=make_lead(), campaign=fresh[0].campaign)

    with pytest.raises(CommandError):
        document = trace()
    document = QueueTrace.objects.order_by("-pk").first().drift

    assert document["explained"] == [
        "hos: 1 card(s) pending -> approved",
        "hos: 1 card(s) pending -> rejected",
        "unnamed: 1 card(s) approved -> queued",
    ]
    # The six drafted cards nothing recorded are drift; the decisions and the claim are not.
    campaign = fresh[0].campaign_ref
    assert document["flags"] == [
        "by_status pending: +6 (threshold 1)",
        "by_tier tier_1: +6 (threshold 1)",
        "by_classifier outbound_tier_1: +6 (threshold 1)",
        f"by_campaign {campaign}: +6 (threshold 1)",
        "by_route ghl_email: +6 (threshold 1)",
        "eligible eligible: +6 (threshold 1)",
        "open open: +6 (threshold 1)",
    ]
    assert document["changes"]["by_status"] == {"pending": 4, "queued": 1, "rejected": 1}


def test_the_daily_report_shows_cleanup_as_a_fact_not_an_anomaly(stale_queue):
    with time_machine.travel(IN_WINDOW + dt.timedelta(minutes=10), tick=False):
        RampDay.objects.create(date=IN_WINDOW.date(), is_live=True, cap=5, dispatched_count=1, sent_count=1)
        # The day's send, drafted and walked to sent as the product does it.
        card = make_card(lead=make_lead(replied_at=IN_WINDOW), age_hours=0)
        record_drafted([card], actor_label="run_pipeline")
        transition(card, CardStatus.APPROVED, **approval_fields(card))
        for status in CardStatus.ROUTE_TO_GHL[1:]:
            transition(card, status)
        transition(card, CardStatus.SENT, sent_at=IN_WINDOW, ghl_message_id="msg-of-the-day")
        call_command("cleanup_queue", "--apply", stdout=StringIO())
        call_command("trace_queue", stdout=StringIO())
        out = StringIO()
        call_command("daily_report", stdout=out)

    text = out.getvalue()
    assert "Queue cleanup rejected 14 card(s) that could never be sent as they were" in text
    assert "Anomalies: none" in text
    assert "Recommended decision: CONTINUE" in text


def test_a_previous_trace_without_counts_is_not_compared_even_when_cards_moved(stale_queue):
    stale, _ = stale_queue
    # A trace stored before these counts were taken (as the replay harness stores them).
    QueueTrace.objects.create(taken_at=IN_WINDOW + dt.timedelta(minutes=1), counts={})
    call_command("cleanup_queue", "--apply", stdout=StringIO())

    document = trace()

    assert document["drift"] == [] and document["changes"] == {}
    assert document["explained"] == ["cleanup_queue: 14 card(s) pending -> rejected"]
