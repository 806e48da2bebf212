"""The admin index's 30-day chart: the same figures as 30 days of `day_activity`, in a constant few queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings as django_settings
from django.utils import timezone

from ghl.client import SentMessage
from ghl.webhooks import WebhookSigner, compact_json, public_key_pem
from outreach.reports.daily import day_activity, day_totals
from outreach.models import CardStatus, Lead, PendingEmail
from outreach.sending.job import mark_sent
from outreach.templatetags.kpi_panel import CHART_DAYS
from outreach.transitions import transition
from ramp.days import day_bounds, operating_date
from tests.factories import make_card, make_lead
from tests.ramp.helpers import IN_WINDOW

pytestmark = pytest.mark.django_db

KEY = Ed25519PrivateKey.generate()
SIGNER = WebhookSigner(KEY)
# The index page, its 30-day chart included, in a bound that does not grow with the days
# charted: 39 queries when written (about 210 when each day ran its own day_activity),
# plus the webhook intake tile's 4 (last live cycle, refusals, last delivery, sends waiting),
# plus 4 for each of the two reads of outcomes by send day (the series' and today's:
# the policy, the sends' leads' emails, the leads' outcomes, the complaints),
# plus graduation's reads of the last deploy and its gate runs and the streak box's days.
INDEX_QUERIES_AT_MOST = 62


@pytest.fixture(autouse=True)
def webhook_key(settings):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = public_key_pem(KEY)
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = ""


def deliver(client, event_type: str, webhook_id: str, **fields) -> None:
    payload = {
        "type": event_type,
        "locationId": django_settings.GHL_LOCATION_ID,
        "webhookId": webhook_id,
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
        **fields,
    }
    body = compact_json(payload)
    response = client.post("/webhooks/ghl/", data=body, content_type="application/json", headers=SIGNER.headers(body))
    assert response.status_code == 200, response.content


def send(n: int) -> PendingEmail:
    """A card taken from approval to sent the way the dispatch job moves it (its send instant is now)."""
    card = make_card(status=CardStatus.APPROVED, lead=make_lead(ghl_contact_id=f"contact-{n}"))
    transition(card, CardStatus.QUEUED, expected=CardStatus.APPROVED, queued_at=timezone.now())
    transition(card, CardStatus.SENDING, expected=CardStatus.QUEUED)
    mark_sent(card, SentMessage(f"conv-{n}", f"msg-{n}", f"em-{n}"), expected=CardStatus.SENDING, reason="sent in a test")
    card.refresh_from_db()
    return card


def a_month_of_outcomes(client) -> list[dt.date]:
    """Sends, replies, bounces and unsubscribes spread over the last 30 operating days, through the product's own paths.

    Each day gets a different mix and some days nothing; every day's events
    land a minute after its midnight and a minute before the next, so a day
    boundary counted an hour off either way shows.
    """
    today = operating_date()
    dates = [today - dt.timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    serial = 0
    for index, date in enumerate(dates):
        if index % 4 == 3:
            continue  # a day without anything
        start, end = day_bounds(date)
        for moment in (start + dt.timedelta(minutes=1), end - dt.timedelta(minutes=1)):
            with time_machine.travel(moment, tick=False):
                for _ in range(1 + index % 3):
                    serial += 1
                    card = send(serial)
                    kind = serial % 5
                    if kind == 1:
                        deliver(client, "LCEmailStats", f"b{serial}", webhookPayload={
                            "event": "failed", "id": f"evt-b{serial}", "recipient": card.lead.email, "severity": "permanent",
                            "reason": "mailbox does not exist", "lc-operations": {"email_message_id": card.ghl_email_message_id},
                        })
                    elif kind in (2, 3):
                        deliver(
                            client, "InboundMessage", f"r{serial}", contactId=card.lead.ghl_contact_id,
                            messageType="Email", direction="inbound", body="STOP" if kind == 3 else "Sounds good, call me Tuesday.",
                            threadId=card.ghl_email_message_id, emailMessageId=f"in-{serial}", subject="Re: hello",
                            **{"from": card.lead.email},
                        )
    return dates


@pytest.fixture
def month(client):
    with time_machine.travel(IN_WINDOW, tick=False):
        dates = a_month_of_outcomes(client)
    with time_machine.travel(IN_WINDOW + dt.timedelta(minutes=30), tick=False):
        yield dates


def test_the_thirty_day_series_equals_thirty_days_of_day_activity(month):
    totals = day_totals(month)
    by_day = [day_activity(date) for date in month]
    assert [(t.date, t.sent, t.replies, t.bounces, t.unsubscribes) for t in totals] == [
        (a.date, a.sent, a.replies, a.bounces, a.unsubscribes) for a in by_day
    ]
    # The month really has every kind of figure, on more than one day, and quiet days.
    assert all(sum(getattr(t, name) for t in totals) > 1 for name in ("sent", "replies", "bounces", "unsubscribes"))
    assert sum(t.sent for t in totals) == PendingEmail.objects.filter(status=CardStatus.SENT).count()
    assert sum(t.bounces for t in totals) == Lead.objects.filter(bounced_at__isnull=False).count()
    assert any(t.sent == 0 for t in totals)


def test_the_series_costs_six_queries_however_many_days(month, django_assert_num_queries):
    # The policy, the days' sends, their leads' emails, the leads' outcomes, the complaints, the reported complaints.
    with django_assert_num_queries(6):
        day_totals(month)
    with django_assert_num_queries(6):
        day_totals(month[:7])
    with django_assert_num_queries(0):
        assert day_totals([]) == []


def test_the_index_charts_the_month_in_a_constant_few_queries(month, admin_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(INDEX_QUERIES_AT_MOST):
        page = admin_client.get("/admin/")
    assert page.status_code == 200
    html = page.content.decode()
    for activity in (day_activity(month[-1]), day_activity(month[-2])):
        stamp = f"{activity.date:%m-%d}"
        assert f"sent {stamp}: {activity.sent}" in html and f"replies {stamp}: {activity.replies}" in html
    assert re.search(r"sent \d\d-\d\d: [1-9]", html)
