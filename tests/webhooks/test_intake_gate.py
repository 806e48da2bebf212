"""The webhook intake gate (preflight P11), and how much a refused delivery may cost us."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps
from django.utils import timezone

from ghl.client import SentMessage
from outreach.inbound.webhooks import record_refusal
from outreach.reports.queue_facts import intake_facts
from outreach.models import CardStatus, WebhookDelivery, WebhookRefusal
from ramp.holds import clear_hold
from ramp.models import Hold
from ramp.preflight import run_preflight
from tests.factories import make_card, make_lead

URL = "/webhooks/ghl/"
MINUTE = dt.datetime(2026, 11, 23, 15, 0, 5, tzinfo=dt.timezone.utc)


def p11(run) -> dict:
    return next(row for row in run.results if row["id"] == "P11")


def refuse_one(client, **headers):
    return client.post(URL, data=b'{"type":"OutboundMessage"}', content_type="application/json", headers=headers)


@pytest.mark.django_db
def test_refused_deliveries_fail_the_gate_until_an_operator_clears_them(client, ghl_sandbox):
    assert refuse_one(client).status_code == 401
    assert refuse_one(client, **{"x-ghl-signature": "AAAA"}).status_code == 401

    run = run_preflight()

    row = p11(run)
    assert not row["passed"]
    assert "2 webhook delivery(ies) refused for the signature" in row["detail"]
    assert "first: the delivery carries no x-ghl-signature or x-wh-signature header" in row["detail"]
    hold = Hold.objects.active().get(source="webhook_intake")
    # The key was fixed; the operator clears the hold with a reason: the same refusals hold nothing again.
    clear_hold(hold, cleared_by="pto", reason="key rotated in GHL, settings updated")
    assert p11(run_preflight())["passed"]
    # A new refusal is new evidence.
    refuse_one(client)
    assert "3 webhook delivery(ies) refused" in p11(run_preflight())["detail"]


@pytest.mark.django_db
def test_refusals_older_than_the_window_do_not_count(client, ghl_sandbox):
    with time_machine.travel(MINUTE, tick=False):
        refuse_one(client)
    with time_machine.travel(MINUTE + dt.timedelta(hours=25), tick=False):
        facts = intake_facts()
    assert facts.refusals == 0 and facts.problems() == []


@pytest.mark.django_db
def test_a_live_cycle_older_than_a_day_stretches_the_window_back_to_it(client):
    from ramp.cycles import LiveCycle

    with time_machine.travel(MINUTE, tick=False):
        LiveCycle.objects.create(date=MINUTE.date(), operator="pto", outcome=LiveCycle.Outcome.SETTLED)
    with time_machine.travel(MINUTE + dt.timedelta(hours=2), tick=False):
        refuse_one(client)
    # Two days without a cycle: the refusal after the last one still counts.
    with time_machine.travel(MINUTE + dt.timedelta(days=2), tick=False):
        facts = intake_facts()
    assert facts.since == MINUTE and facts.refusals == 1


@pytest.mark.django_db
def test_a_refusal_keeps_a_bounded_record_and_a_flood_only_a_counter(client, settings):
    settings.WEBHOOK_REFUSALS_PER_MINUTE = 3
    flood = {f"x-junk-{n:02d}": "v" * 1000 for n in range(90)}
    with time_machine.travel(MINUTE, tick=False):
        for _ in range(5):
            assert refuse_one(client, **flood).status_code == 401

    rows = list(WebhookRefusal.objects.order_by("pk"))
    assert len(rows) == 3 and [r.dropped for r in rows] == [0, 0, 2]
    headers = rows[0].headers
    assert len(headers) <= 21 and sum(len(k) + len(v) for k, v in headers.items()) <= 2100
    assert "more header(s)" in headers["(not kept)"]
    with time_machine.travel(MINUTE + dt.timedelta(minutes=1), tick=False):
        facts = intake_facts()
    assert (facts.refusals, facts.dropped) == (3, 2)
    assert "(+2 more not recorded, over the per-minute cap)" in facts.problems()[0]
    # The next minute records again.
    with time_machine.travel(MINUTE + dt.timedelta(minutes=1), tick=False):
        refuse_one(client)
    assert WebhookRefusal.objects.count() == 4


def test_secret_headers_are_never_kept():
    from outreach.inbound.webhooks import kept_headers

    kept = kept_headers({"Authorization": "Bearer x", "X-Api-Key": "k", "Cookie": "c", "User-Agent": "GHL"})
    assert kept == {"User-Agent": "GHL"}


@pytest.mark.django_db
def test_record_refusal_stores_what_it_refused_for():
    refusal = record_refusal(WebhookRefusal.Reason.SIGNATURE, "x-ghl-signature does not match the body", b"{}", {})
    assert refusal.detail == "x-ghl-signature does not match the body" and refusal.size == 2


# -- sends with no event back, against the sandbox and its outcome generator ---------------------


@pytest.fixture
def _seeded(transactional_db):
    """Put back the rejection tags and roles that migrations seed: transactional tests flush them."""
    importlib.import_module("outreach.migrations.0002_seed_tags_and_roles").seed(apps, None)


def sent_card(ghl_sandbox, email: str):
    """Send one email through the sandbox and record it as a sent card, as the job would."""
    lead = make_lead(email=email)
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email=lead.email)
    sent: SentMessage = client.send_email(contact_id=contact.id, subject="Hello", html="<p>hi</p>", text="hi")
    type(lead).objects.filter(pk=lead.pk).update(ghl_contact_id=contact.id)
    return make_card(
        status=CardStatus.SENT,
        lead=lead,
        sent_at=timezone.now(),
        ghl_contact_id=contact.id,
        ghl_conversation_id=sent.conversation_id,
        ghl_message_id=sent.message_id,
        ghl_email_message_id=sent.email_message_id,
    )


@pytest.mark.django_db(transaction=True)
def test_sends_with_no_event_back_fail_the_gate(_seeded, ghl_sandbox, settings):
    settings.WEBHOOK_SILENCE_MINUTES = 180
    # GHL's events never reach us (its webhook URL is not set).
    card = sent_card(ghl_sandbox, "ann@example.com")

    # Within the silence window nothing is judged yet.
    assert p11(run_preflight(now=card.sent_at + dt.timedelta(minutes=179)))["passed"]
    row = p11(run_preflight(now=card.sent_at + dt.timedelta(minutes=181)))
    assert not row["passed"]
    assert "1 email(s) sent since" in row["detail"] and "no webhook event at all came back within 180 minutes" in row["detail"]


@pytest.mark.django_db(transaction=True)
def test_sends_whose_outcomes_arrive_pass_the_gate(_seeded, ghl_sandbox, live_server, settings):
    ghl_sandbox.configure(webhook_url=f"{live_server.url}{URL}", auto_events=[])
    ghl_sandbox.outcomes(enabled=True, delay_seconds=0, seed="intake")
    card = sent_card(ghl_sandbox, "ann@example.com")

    ghl_sandbox.sandbox.wait_for_outbox()

    assert WebhookDelivery.objects.exists()
    row = p11(run_preflight(now=card.sent_at + dt.timedelta(hours=4)))
    assert row["passed"], row["detail"]
    assert not WebhookRefusal.objects.exists()


@pytest.mark.django_db
def test_the_index_and_the_api_show_the_intake(client, admin_client):
    from caio.models import ApiToken

    _, raw = ApiToken.issue("tests")
    ramp = client.get("/api/ramp", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert ramp["webhook_intake"]["ok"] is True and ramp["webhook_intake"]["problems"] == []
    assert "no refused delivery, no silent send" in admin_client.get("/admin/").content.decode()

    refuse_one(client)

    intake = client.get("/api/ramp", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["webhook_intake"]
    assert intake["ok"] is False and intake["refusals"] == 1
    assert intake["first_refusal"] == "the delivery carries no x-ghl-signature or x-wh-signature header"
    page = admin_client.get("/admin/").content.decode()
    assert 'id="tile-webhook-intake"' in page and "FAILING" in page
    assert "1 webhook delivery(ies) refused for the signature" in page
