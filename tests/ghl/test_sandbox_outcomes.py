"""The sandbox's own outcomes: drawn at the set rates, deterministic under a seed, delivered as GHL's signed webhooks."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ghl.sandbox.outcomes import REPLY_TEXTS, default_outcomes, plan_outcomes
from ghl.sandbox.testing import SandboxControlError
from ghl.webhooks import AppointmentEvent, EmailStatsEvent, MessageEvent, verify_delivery


def events(plan: list[dict]) -> list[str]:
    return [spec["event"] if spec["event"] != "failed" else f"failed:{spec['severity']}" for spec in plan]


def test_the_same_seed_and_message_give_the_same_plan_and_another_seed_another():
    settings = {**default_outcomes(), "enabled": True}
    ids = [f"msg{i:04d}" for i in range(200)]
    first = [plan_outcomes(settings, "seed-a", m) for m in ids]
    assert first == [plan_outcomes(settings, "seed-a", m) for m in ids]
    assert first != [plan_outcomes(settings, "seed-b", m) for m in ids]
    # An outcome seed of its own wins over the sandbox seed.
    own = {**settings, "seed": "fixed"}
    assert [plan_outcomes(own, "seed-a", m) for m in ids] == [plan_outcomes(own, "seed-b", m) for m in ids]


def test_outcomes_follow_the_rates_over_many_sends():
    settings = default_outcomes()
    plans = [plan_outcomes(settings, "rates", f"m{i}") for i in range(4000)]
    tally = Counter(name for plan in plans for name in events(plan))
    n = len(plans)
    assert abs(tally["failed:permanent"] / n - 0.03) < 0.01
    assert abs(tally["failed:temporary"] / n - 0.02) < 0.01
    assert abs(tally["delivered"] / n - 0.95) < 0.015
    assert abs(tally["InboundMessage"] / tally["delivered"] - 0.25 * (1 - 0.01) * (1 - 0.03)) < 0.03
    kinds = Counter(spec["reply_kind"] for plan in plans for spec in plan if spec["event"] == "InboundMessage")
    assert set(kinds) == {"interested", "not_now", "out_of_office", "stop"}
    # Meetings only follow an interested reply.
    for plan in plans:
        if "AppointmentCreate" in events(plan):
            assert any(s.get("reply_kind") == "interested" for s in plan)
        if plan[0]["event"] == "failed":
            assert len(plan) == 1


def test_rates_of_zero_and_one_decide_every_send():
    settings = {**default_outcomes(), "rates": {**default_outcomes()["rates"], "bounced_hard": 0, "bounced_soft": 0,
                                               "opened": 1, "clicked": 0, "complained": 0, "unsubscribed": 0,
                                               "replied": 1, "meeting": 1},
                "reply_mix": {"interested": 1, "not_now": 0, "out_of_office": 0, "stop": 0}}
    for i in range(50):
        assert events(plan_outcomes(settings, "s", f"m{i}")) == ["delivered", "opened", "InboundMessage", "AppointmentCreate"]


def test_bad_settings_are_refused_with_what_is_wrong(ghl_sandbox):
    with pytest.raises(SandboxControlError, match="outcomes.rates.replied must be a number from 0 to 1"):
        ghl_sandbox.outcomes(rates={"replied": 2})
    with pytest.raises(SandboxControlError, match="unknown outcomes.rates key 'bounce'"):
        ghl_sandbox.outcomes(rates={"bounce": 0.1})
    with pytest.raises(SandboxControlError, match="unknown outcomes key 'rate'"):
        ghl_sandbox.outcomes(rate=1)
    # Nothing was half-applied.
    assert ghl_sandbox.outcomes() == default_outcomes()


def test_a_send_is_followed_by_its_planned_outcomes_as_signed_ghl_webhooks(ghl_sandbox, webhook_receiver):
    ghl_sandbox.configure(webhook_url=webhook_receiver.url)
    ghl_sandbox.outcomes(
        enabled=True,
        delay_seconds=0,
        rates={"bounced_hard": 0, "bounced_soft": 0, "opened": 1, "clicked": 1, "replied": 1, "meeting": 1,
               "complained": 0, "unsubscribed": 0},
        reply_mix={"interested": 1, "not_now": 0, "out_of_office": 0, "stop": 0},
    )
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = client.send_email(contact_id=contact.id, subject="Hi", html="<p>caio-1</p>", text="caio-1")
    plan = ghl_sandbox.outcome_plan(sent.message_id)
    assert events(plan) == ["delivered", "opened", "clicked", "InboundMessage", "AppointmentCreate"]
    # OutboundMessage and accepted from auto_events, then the plan.
    deliveries = webhook_receiver.wait_for(7, timeout=10)
    assert len(deliveries) == 7
    key = ghl_sandbox.public_key_pem()
    parsed = [verify_delivery(d["body"], d["headers"], ed25519_public_key=key, max_age_seconds=300) for d in deliveries]
    stats = [e.event for e in parsed if isinstance(e, EmailStatsEvent)]
    assert stats == ["accepted", "delivered", "opened", "clicked"]
    [reply] = [e for e in parsed if isinstance(e, MessageEvent) and e.type == "InboundMessage"]
    assert reply.contact_id == contact.id and reply.body in REPLY_TEXTS["interested"]
    [meeting] = [e for e in parsed if isinstance(e, AppointmentEvent)]
    assert meeting.contact_id == contact.id and meeting.status == "confirmed"


def test_a_hard_bounce_is_the_only_outcome_and_no_delivered_event_is_sent(ghl_sandbox, webhook_receiver):
    ghl_sandbox.configure(webhook_url=webhook_receiver.url)
    ghl_sandbox.outcomes(enabled=True, delay_seconds=0, rates={"bounced_hard": 1, "bounced_soft": 0})
    client = ghl_sandbox.client()
    sent = client.send_email(contact_id=client.upsert_contact(email="bo@example.com").id, subject="Hi", html="<p>x</p>", text="x")
    deliveries = webhook_receiver.wait_for(3, timeout=10)
    ghl_sandbox.wait_for_webhooks()
    bodies = [json.loads(d["body"]) for d in webhook_receiver.deliveries]
    stats = [b["webhookPayload"] for b in bodies if b["type"] == "LCEmailStats"]
    assert [(s["event"], s.get("severity")) for s in stats] == [("accepted", None), ("failed", "permanent")]
    assert len(deliveries) == 3 and client.get_email(sent.email_message_id).status == "failed"
