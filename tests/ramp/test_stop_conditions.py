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
        (sc.QueueFacts(sent=10, bounces=3), "bounce_rate"),
        (sc.QueueFacts(sent=10, unsubscribes=2), "unsubscribe_rate"),
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
def test_at_scale_the_test_decides_and_small_counts_do_not_hold():
    policy = RampPolicy.get()
    policy.graduation_level = 1
    # 5 bounces and 2 unsubscribes in 100 are the ceilings' own rates: nothing shown over them.
    assert sc.evaluate(sc.QueueFacts(sent=100, bounces=5, unsubscribes=2), policy) == []
    # 60 bounces in 5,000 (1.2%) is under 5%; 250 unsubscribes (5%) is shown over 2%.
    findings = sc.evaluate(sc.QueueFacts(sent=5000, bounces=60, unsubscribes=250), policy)
    assert [f.source for f in findings] == ["unsubscribe_rate"]
    assert "p=0.000, over at 95% confidence" in findings[0].reason
    assert sc.evaluate(sc.QueueFacts(sent=0, bounces=0), policy) == []


@pytest.mark.django_db
def test_while_ramping_one_unsubscribe_warns_and_two_hold():
    policy = RampPolicy.get()
    one = sc.QueueFacts(sent=35, unsubscribes=1, unsubscribe_evidence=["unsubscribe:lead:1"])
    assert sc.evaluate(one, policy) == []
    assert sc.deliverability_warnings(one, policy) == [
        "warning: unsubscribes 1 of 35 sent (2.9%) against a ceiling of 2%: one-sided exact binomial p=0.507, "
        "not shown over at 95% confidence; hold at 2, over the last 7 days."
    ]
    two = sc.QueueFacts(sent=35, unsubscribes=2, unsubscribe_evidence=["unsubscribe:lead:1", "unsubscribe:lead:2"])
    assert [f.source for f in sc.evaluate(two, policy)] == ["unsubscribe_rate"]


@pytest.mark.django_db
def test_a_complaint_always_holds_even_at_scale():
    policy = RampPolicy.get()
    policy.graduation_level = 2
    findings = sc.evaluate(sc.QueueFacts(sent=5000, complaints=1, complaint_evidence=["complaint:event:9"]), policy)
    assert [(f.source, f.evidence) for f in findings] == [("complaint_rate", ("complaint:event:9",))]
