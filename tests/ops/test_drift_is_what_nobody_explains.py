"""Drift is what nobody explains: the product's own changes between two traces flag nothing; a raw UPDATE does.

Between two traces the product drafts (the pipeline, a redraft, the cadence
tick), reviews, ages cards into stale, suppresses a lead, cleans the queue and
sends through a live cycle, all with the default threshold. Each change is
explained in the second trace; only a status written behind the product's
back is drift.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase

from outreach import review
from outreach.inbound.suppression import suppress_lead
from outreach.models import CardStatus, Lead, PendingEmail
from outreach.sending.job import send_card
from outreach.sending.select import start_live_cycle
from ramp import services
from ramp.models import QueueTrace
from tests.dispatch.helpers import fake_client, green_gates, patch_client
from tests.factories import a_rejection_tag, make_campaign, make_lead

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

NY = zoneinfo.ZoneInfo("America/New_York")
MONDAY = dt.datetime(2026, 3, 2, 15, 30, tzinfo=NY)


def trace() -> dict:
    out = StringIO()
    call_command("trace_queue", "--json", stdout=out)
    return json.loads(out.getvalue())


def run(*args: str) -> None:
    call_command(*args, stdout=StringIO())


def approve_and_send(card: PendingEmail, *, hos, operator, clock) -> None:
    """The Head of Sales approves, the undo window passes, a live cycle claims it and the job sends it."""
    review.approve(card, user=hos, seen_content_hash=card.content_hash())
    clock.shift(dt.timedelta(seconds=30))
    green_gates()
    with TestCase.captureOnCommitCallbacks(execute=True):
        claimed = start_live_cycle(operator=operator, limit=1)
    assert [line.pk for line in claimed.claimed] == [card.pk]
    with patch_client(fake_client()):
        assert send_card(card.pk).outcome == "sent"


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def test_the_products_own_changes_between_two_traces_are_explained_and_a_raw_update_is_drift(clock, hos, operator, redis_conn):
    make_campaign(ref="seq")
    leads = [make_lead(source="wpromote") for _ in range(10)]
    run("run_pipeline", "--source", "wpromote", "--limit", "4", "--apply")
    first, *waiting = PendingEmail.objects.order_by("pk")
    approve_and_send(first, hos=hos, operator=operator, clock=clock)
    services.decide(decision="continue", by="operator", date=MONDAY.date())
    assert trace()["drift"] == []

    # Three days later: the waiting cards aged past 72 h, the sent lead's step 2 is due.
    clock.shift(dt.timedelta(days=3, minutes=5))
    run("run_pipeline", "--source", "wpromote", "--limit", "2", "--apply")
    run("cadence_tick", "--apply")
    suppress_lead(Lead.objects.get(pk=waiting[0].lead_id), reason="unsubscribed", source="unsubscribe link")
    run("cleanup_queue", "--apply")
    run("run_pipeline", "--source", "wpromote", "--redraft", "--limit", "3", "--apply")
    fresh = PendingEmail.objects.filter(status=CardStatus.PENDING, step__number=1).order_by("pk")
    review.reject(fresh[0], user=hos, tag="weak_personalization")
    approve_and_send(fresh[1], hos=hos, operator=operator, clock=clock)

    second = trace()

    assert second["drift"] == [], second
    explained = "\n".join(second["explained"])
    for cause in (
        "run_pipeline: 2 card(s) drafted -> pending",
        "cadence_tick: 1 card(s) drafted -> pending",
        "redraft: 2 card(s) drafted -> pending",
        "cleanup_queue: 2 card(s) pending -> rejected",
        "suppression:unsubscribe link: 1 card(s) pending -> rejected",
        "hos: 1 card(s) pending -> rejected",
        "hos: 1 card(s) pending -> approved",
        "operator: 1 card(s) approved -> queued",
        "dispatch worker: 1 card(s) sending -> sent",
    ):
        assert cause in explained, explained
    assert second["changes"]["by_status"]["sent"] == 1

    # Three more days: the cards drafted since age into stale with no status change; the rules explain it.
    clock.shift(dt.timedelta(days=3))
    third = trace()
    assert third["drift"] == [], third
    assert third["explained"] == ["eligibility rules: 3 card(s) eligible -> held back: stale"]

    # A status written behind the product's back: no transition explains it.
    still_pending = PendingEmail.objects.filter(status=CardStatus.PENDING).first()
    PendingEmail.objects.filter(pk=still_pending.pk).update(status=CardStatus.REJECTED, rejection_tag=a_rejection_tag())
    with pytest.raises(CommandError, match="Queue drift flagged"):
        run("trace_queue")
    flags = QueueTrace.objects.order_by("-pk").first().drift["flags"]
    assert "by_status pending: -1 (threshold 1)" in flags and "by_status rejected: +1 (threshold 1)" in flags


def test_a_tier_changed_by_a_lead_edit_is_explained_and_one_written_behind_its_back_is_drift(clock):
    make_campaign(ref="seq")
    make_lead(source="wpromote")
    make_lead(source="wpromote")
    run("run_pipeline", "--source", "wpromote", "--limit", "2", "--apply")
    edited, raw = PendingEmail.objects.order_by("pk")
    trace()
    clock.shift(dt.timedelta(minutes=5))

    lead = Lead.objects.get(pk=edited.lead_id)
    lead.tier = "tier_2"
    lead.save()
    Lead.objects.filter(pk=raw.lead_id).update(tier="tier_2")
    with pytest.raises(CommandError):
        run("trace_queue")

    drift = QueueTrace.objects.order_by("-pk").first().drift
    assert "lead edits: 1 card(s) tier tier_1 -> tier tier_2" in drift["explained"]
    assert drift["flags"][:2] == ["by_tier tier_1: -1 (threshold 1)", "by_tier tier_2: +1 (threshold 1)"]


def test_a_status_written_after_a_cards_recorded_drafting_is_still_drift(clock):
    make_campaign(ref="seq")
    make_lead(source="wpromote")
    trace()
    clock.shift(dt.timedelta(minutes=5))
    run("run_pipeline", "--source", "wpromote", "--limit", "1", "--apply")
    # Its drafting is recorded; its rejection is not.
    PendingEmail.objects.update(status=CardStatus.REJECTED, rejection_tag=a_rejection_tag())
    with pytest.raises(CommandError):
        run("trace_queue")
    drift = QueueTrace.objects.order_by("-pk").first().drift
    assert drift["explained"] == ["run_pipeline: 1 card(s) drafted -> pending"]
    assert "by_status rejected: +1 (threshold 1)" in drift["flags"] and "by_status pending: -1 (threshold 1)" in drift["flags"]
