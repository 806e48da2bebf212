"""A demo that lives: after one live cycle the sandbox's own outcomes reach the app as signed webhooks,
and the index, the daily report, the replies and the tuning page show the same non-zero figures."""

from __future__ import annotations

import importlib

import pytest

from outreach.reports import tuning
from outreach.reports.daily import daily_report
from outreach.models import EmailEvent, PendingEmail, RejectionTag, Reply
from outreach.sending.select import start_live_cycle
from tests.dispatch.conftest import wait_until
from tests.dispatch.helpers import approved_card, green_gates

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]

# Lively but believable: every outcome kind can occur, and with this seed these sends get replies.
RATES = {"bounced_hard": 0.2, "bounced_soft": 0.0, "opened": 0.7, "clicked": 0.3, "complained": 0.0,
         "unsubscribed": 0.1, "replied": 0.8, "meeting": 1.0}


@pytest.fixture(autouse=True)
def _tags(transactional_db):
    """Put back the rejection tags that migrations seed: transactional tests flush them.

    Not through the migration's own seed function: given the live app registry it
    unsets the apps' models modules, and later flushes then recreate no permissions.
    """
    seed = importlib.import_module("outreach.migrations.0002_seed_tags_and_roles")
    for slug, label, description, system in seed.TAGS:
        RejectionTag.objects.update_or_create(slug=slug, defaults={"label": label, "description": description, "system": system})


def payloads_for(plan: list[dict]) -> int:
    # An unsubscribe is told twice by GHL: LCEmailStats and ContactDndUpdate.
    return sum(2 if spec["event"] == "unsubscribed" else 1 for spec in plan)


def test_one_live_cycle_fills_the_index_the_report_the_replies_and_the_tuning_page(
    operator, processes, ghl_sandbox_process, live_server, admin_client
):
    sandbox = ghl_sandbox_process.control
    sandbox.configure(webhook_url=f"{live_server.url}/webhooks/ghl/")
    # Interested replies only, so the reply figures are non-zero; STOP and out-of-office
    # replies (not counted as replies) are tested in tests/webhooks/test_stop_reply.py.
    sandbox.outcomes(enabled=True, seed="living-demo", delay_seconds=0.5, rates=RATES, reply_mix={"interested": 1.0, "not_now": 0, "out_of_office": 0, "stop": 0})
    green_gates(daily_cap=5)
    cards = [approved_card(template_version="v1" if n % 2 else "v2") for n in range(5)]

    result = start_live_cycle(operator=operator)
    assert len(result.claimed) == 5
    processes.run_burst_worker()

    # Nothing is posted by hand: wait until the sandbox has delivered every planned outcome.
    deliveries = sandbox.deliveries()
    assert len(deliveries) == 5
    plans = {d["message_id"]: sandbox.outcome_plan(d["message_id"]) for d in deliveries}
    expected = sum(2 + payloads_for(plan) for plan in plans.values())  # + OutboundMessage and accepted
    wait_until(lambda: len(sandbox.webhooks()) >= expected, timeout=60, message=f"{expected} webhook deliveries")
    assert all(w["final_status"] == 200 for w in sandbox.webhooks())

    planned = [spec["event"] for plan in plans.values() for spec in plan]
    inbound = planned.count("InboundMessage")
    # A STOP reply counts as an unsubscribe and an out-of-office as neither: only the rest are replies.
    replies = sum(
        1 for plan in plans.values() for s in plan if s["event"] == "InboundMessage" and s["reply_kind"] in ("interested", "not_now")
    )
    bounces = sum(1 for plan in plans.values() for s in plan if s["event"] == "failed" and s["severity"] == "permanent")
    assert replies > 0 and bounces > 0, planned

    # Every event found its card: the sandbox waits before each outcome.
    by_message = {c.ghl_message_id: c for c in PendingEmail.objects.filter(pk__in=[c.pk for c in cards])}
    assert set(by_message) == set(plans)
    assert EmailEvent.objects.filter(kind="replied", card__isnull=False).count() == replies
    assert Reply.objects.filter(card__in=by_message.values()).count() == inbound
    assert EmailEvent.objects.filter(kind="meeting").count() == planned.count("AppointmentCreate")

    report = daily_report()
    week = tuning.tuning_report()
    index = admin_client.get("/admin/")
    kpi = index.context["kpi"]
    inbox = admin_client.get("/admin/outreach/reply/")
    tuning_page = admin_client.get("/admin/tuning/")

    assert report["sent"] == kpi["today"].sent == sum(r.sent for r in week.rows) == 5
    assert report["kpis"]["replies"] == kpi["today"].replies == sum(r.replies for r in week.rows) == replies
    assert report["kpis"]["bounces"] == kpi["today"].bounces == sum(r.bounced for r in week.rows) == bounces
    # No meeting event at all is "not recorded" (None) in the report, as on the index.
    assert report["kpis"]["meetings"] == kpi["today"].meetings
    assert (report["kpis"]["meetings"] or 0) == sum(r.meetings for r in week.rows) == planned.count("AppointmentCreate")
    assert report["kpis"]["unsubscribes"] == kpi["today"].unsubscribes == sum(r.unsubscribed for r in week.rows)
    assert inbox.status_code == 200 and inbox.context["cl"].result_count == inbound
    assert tuning_page.status_code == 200
    assert {r.version for r in week.rows} == {"v1", "v2"}
    # The index's chart ends on today's figures.
    html = index.content.decode()
    today = report["date"][5:]
    assert f"sent {today}: 5" in html and f"replies {today}: {replies}" in html
