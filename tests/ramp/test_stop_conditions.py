from __future__ import annotations

import pytest

from ramp import stop_conditions as sc
from ramp.models import Hold, PreflightRun, RampPolicy


@pytest.mark.django_db
@pytest.mark.parametrize(
    "facts, source",
    [
        (sc.QueueFacts(inconsistent_cards=["card 1: classifier 'outbound_tier_2' but campaign expects 'outbound_tier_1'"]), "queue_inconsistency"),
        (sc.QueueFacts(reappeared_leads=["card 2 (a@b.example, camp step 1) after a sent step 1"]), "lead_reappeared"),
        (sc.QueueFacts(sent=10, bounces=1), "bounce_rate"),
        (sc.QueueFacts(sent=10, unsubscribes=1), "unsubscribe_rate"),
        (sc.QueueFacts(sent=10, complaints=1), "complaint_rate"),
    ],
)
def test_each_stop_condition_raises_a_hold_with_its_source(facts, source):
    findings = sc.evaluate(facts, RampPolicy.get())
    assert [f.source for f in findings] == [source]
    sc.apply(findings)
    hold = Hold.objects.active().get()
    assert hold.source == source and hold.raised_by == "stop condition"
    # Meeting the same condition again does not stack a second hold.
    sc.apply(sc.evaluate(facts, RampPolicy.get()))
    assert Hold.objects.active().count() == 1


@pytest.mark.django_db
def test_a_failed_preflight_raises_a_preflight_hold():
    run = PreflightRun.objects.create(passed=False, results=[{"id": "P02", "name": "Redis", "passed": False, "detail": "down", "ms": 1}])
    sc.apply([sc.preflight_failure(run)])
    assert Hold.objects.active().get().reason == "Preflight failed: P02 Redis: down"


@pytest.mark.django_db
def test_rates_within_the_thresholds_and_no_sends_raise_nothing():
    assert sc.evaluate(sc.QueueFacts(sent=100, bounces=5, unsubscribes=2), RampPolicy.get()) == []
    assert sc.evaluate(sc.QueueFacts(sent=0, bounces=3), RampPolicy.get()) == []
