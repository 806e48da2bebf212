from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ramp.models import QueueTrace
from tests.factories import make_campaign, make_card, make_lead

pytestmark = pytest.mark.django_db


def trace(*args) -> dict:
    out = StringIO()
    call_command("trace_queue", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_it_counts_the_queue_and_gives_each_held_back_card_its_reason():
    campaign = make_campaign(ref="wpromote-q1")
    make_card(campaign=campaign)
    make_card(campaign=campaign, age_hours=80)
    make_card(campaign=campaign, is_canary=True)
    document = trace()
    counts = document["counts"]
    assert counts["by_status"]["pending"] == 3
    assert counts["by_campaign"] == {"wpromote-q1": 3}
    assert counts["by_classifier"] == {"outbound_tier_1": 3}
    assert (counts["eligible"], counts["held_back"]) == (1, 2)
    assert counts["held_back_by_reason"] == {"stale": 1, "canary": 1}
    assert sorted(row["reason"] for row in document["held_back"]) == ["canary", "stale"]
    assert document["drift"] == [] and document["previous_trace_at"] is None
    assert QueueTrace.objects.count() == 1


def test_it_flags_drift_since_the_last_trace():
    make_card()
    trace()
    campaign = make_campaign(ref="surprise", classifier="outbound_tier_2", tier="tier_2")
    for _ in range(3):
        make_card(campaign=campaign, lead=make_lead(tier="tier_2"))
    out = StringIO()
    with pytest.raises(CommandError, match="Queue drift flagged"):
        call_command("trace_queue", "--drift-threshold", "3", stdout=out)
    text = out.getvalue()
    assert "DRIFT: new campaign 'surprise' in the queue" in text
    assert "DRIFT: by_status pending: +3 (threshold 3)" in text
    assert QueueTrace.objects.order_by("-pk").first().drift_flagged


def test_an_unchanged_queue_shows_no_drift():
    make_card()
    trace()
    out = StringIO()
    call_command("trace_queue", stdout=out)
    assert "nothing moved" in out.getvalue() and "No drift." in out.getvalue()
    with pytest.raises(CommandError, match="at least 1"):
        call_command("trace_queue", "--drift-threshold", "0", stdout=StringIO())


def test_a_trace_stored_before_eligibility_was_counted_flags_no_drift():
    from outreach import eligibility
    from outreach.reports import queue_facts

    for _ in range(3):
        make_card(age_hours=80)
    counts = queue_facts.trace_counts(eligibility.judge_queue())
    # What trace_queue stored before it counted eligible and held-back cards.
    older = {k: v for k, v in counts.items() if k not in ("eligible", "held_back", "held_back_by_reason")}
    QueueTrace.objects.create(taken_by="older version", counts={**older, "visible": 0, "excluded": 3, "excluded_by_reason": {"stale": 3}})

    document = trace("--drift-threshold", "3")

    # It should compare only what both traces counted: nothing moved.
    assert document["drift"] == [] and document["changes"] == {}
