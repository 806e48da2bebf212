"""Every opt-out is remembered, however it is spelled and wherever it arrives (issue 21).

Signed deliveries through the real endpoint: an opt-out for an address that is
no lead yet is stored as a suppression of its mailbox key, and the lead
imported afterwards enters suppressed, so no card is drafted. A STOP whose
From hides the address behind a display name holding '<', or whose body ends
in a lone surrogate, still suppresses; a body nested 970 levels deep is a 4xx
and recorded, never a 500.
"""

from __future__ import annotations

import csv

import pytest
import tablib

from compliance.models import Suppression
from ghl.webhooks import compact_json
from outreach import eligibility
from outreach.drafting.pipeline import run_pipeline
from outreach.inbound.webhooks import webhook_figures
from outreach.leads.resources import LeadResource
from outreach.models import Lead, PendingEmail, WebhookDelivery, WebhookRefusal
from tests.compliance.test_mailbox_spellings import LEAD_SPELLINGS
from tests.factories import make_campaign, make_lead
from tests.webhooks.test_receive import SIGNER, URL, envelope, post, webhook_key  # noqa: F401  (the signing key)

pytestmark = pytest.mark.django_db


def stop_reply(sender: str, body: str, webhook_id: str) -> dict:
    return envelope(
        "InboundMessage", webhook_id, messageType="Email", contactId=f"unknown-{webhook_id}", body=body, **{"from": sender}
    )


def dnd(address: str, webhook_id: str) -> dict:
    return envelope("ContactDndUpdate", webhook_id, id=f"contact-{webhook_id}", email=address, dnd=True)


def stats(event: str, address: str, webhook_id: str, **extra) -> dict:
    return envelope("LCEmailStats", webhook_id, webhookPayload={"event": event, "id": f"evt-{webhook_id}", "recipient": address, **extra})


# Each opt-out arrives for an address no lead has, spelled as the sender spelled it.
OPT_OUTS = {
    "STOP reply": (lambda a, n: stop_reply(f'"Jane Doe" <{a}>', "STOP", n), "unsubscribed"),
    "DND": (dnd, "unsubscribed"),
    "complaint": (lambda a, n: stats("complained", a, n), "complained"),
    "hard bounce": (lambda a, n: stats("failed", a, n, severity="permanent"), "bounced"),
}


def import_lead(address: str):
    dataset = tablib.Dataset().load(f"email,first_name,tier,source\n{address},Jane,tier_1,later\n", format="csv")
    return LeadResource().import_data(dataset, dry_run=False)


@pytest.mark.parametrize("name", OPT_OUTS)
@pytest.mark.parametrize(
    "opted_out, imported",
    [
        ("jdoe@later.example", "jdoe@later.example"),
        ("JDoe+promo@later.example", "jdoe@later.example"),
        ("j.doe@googlemail.com", "jdoe@gmail.com"),
    ],
)
def test_an_opt_out_before_the_lead_exists_suppresses_it_at_import(name, opted_out, imported, client):
    delivery, kind = OPT_OUTS[name]
    campaign = make_campaign(ref="later")

    response = post(client, delivery(opted_out, f"wh-{name}"))

    assert response.status_code == 200
    outcome = WebhookDelivery.objects.get().outcome
    assert outcome.startswith("suppression recorded for an address with no lead"), outcome
    assert webhook_figures()["opt_outs_without_lead"] == 1
    result = import_lead(imported)
    assert not result.has_validation_errors()
    lead = Lead.objects.get(source="later")
    assert lead in eligibility.held_leads()
    assert {"unsubscribed": lead.unsubscribed_at, "bounced": lead.bounced_at, "complained": lead.do_not_contact}[kind]
    run_pipeline(source="later", limit=10, campaign_ref=campaign.ref, apply=True)
    assert not PendingEmail.objects.filter(lead=lead).exists()
    assert webhook_figures()["opt_outs_without_lead"] == 0
    assert Suppression.objects.filter(email_key=lead.email_key, kind=kind).exists()


def test_a_stop_from_a_display_name_holding_angle_brackets_suppresses_the_lead(client):
    lead = make_lead(email="celia@brackets.example")

    response = post(client, stop_reply('"Jane <Sales>" <celia@brackets.example>', "STOP", "wh-brackets"))

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.unsubscribed_at is not None, WebhookDelivery.objects.get().outcome


def test_a_stop_ending_in_a_lone_surrogate_suppresses_the_lead(client):
    lead = make_lead(email="celia@surrogate.example")
    body = compact_json(stop_reply("celia@surrogate.example", "STOP", "wh-surrogate")).replace(
        b'"body":"STOP"', b'"body":"STOP \\ud83d"'
    )

    response = client.post(URL, data=body, content_type="application/json", headers=SIGNER.headers(body))

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.processed_at is not None and not delivery.error, delivery.error
    lead.refresh_from_db()
    assert lead.unsubscribed_at is not None


def test_an_unsigned_stamp_free_delivery_with_a_lone_surrogate_is_not_a_500(client):
    body = b'{"type":"InboundMessage","locationId":"x","body":"\\ud800"}'

    response = client.post(URL, data=body, content_type="application/json", headers=SIGNER.headers(body))

    assert response.status_code in (200, 403)


def test_a_body_nested_970_levels_deep_is_refused_with_a_4xx_and_recorded(client):
    body = b'{"type":"InboundMessage","x":' + b"[" * 970 + b"]" * 970 + b"}"

    response = client.post(URL, data=body, content_type="application/json", headers=SIGNER.headers(body))

    assert response.status_code == 422
    refusal = WebhookRefusal.objects.get()
    assert refusal.reason == WebhookRefusal.Reason.SHAPE and "nested more than" in refusal.detail
    assert not WebhookDelivery.objects.exists()


def test_a_quarantined_delivery_carrying_an_opt_out_still_suppresses_and_raises_a_hold(client, monkeypatch):
    from outreach.inbound import webhooks
    from ramp.models import Hold

    lead = make_lead(email="celia@broken.example", ghl_contact_id="c-broken")

    def broken(*args, **kwargs):
        raise RuntimeError("the rest of the delivery cannot be applied")

    monkeypatch.setattr(webhooks, "_record", broken)
    delivery = dnd("celia@broken.example", "wh-broken")
    delivery["id"] = "c-broken"
    assert post(client, delivery).status_code == 200
    stored = WebhookDelivery.objects.get()
    lead.refresh_from_db()
    assert stored.processed_at is None and lead.unsubscribed_at is not None
    for _ in range(WebhookDelivery.MAX_ATTEMPTS - 1):
        webhooks.process_pending()

    stored.refresh_from_db()
    assert stored.quarantined_at is not None
    hold = Hold.objects.get()
    assert f"Webhook delivery {stored.pk} carries an opt-out" in hold.reason


@pytest.mark.parametrize("name", ["STOP reply", "DND", "hard bounce"])
@pytest.mark.parametrize("number, spelling", list(enumerate(LEAD_SPELLINGS)), ids=list(LEAD_SPELLINGS))
def test_an_opt_out_spelled_as_in_the_table_suppresses_the_lead_at_its_plain_spelling(name, number, spelling, client):
    """Entry refuses a quoted local part; an opt-out in that spelling still names the mailbox and is kept."""
    plain, _ = LEAD_SPELLINGS[spelling]
    delivery, kind = OPT_OUTS[name]
    campaign = make_campaign(ref="table")
    # The table is written as CSV cells; a webhook carries the cell's value.
    (address,) = next(csv.reader([spelling]))

    response = post(client, delivery(address, f"wh-table-{number}"))

    assert response.status_code == 200
    assert WebhookDelivery.objects.get().outcome.startswith("suppression recorded for an address with no lead")
    assert not import_lead(plain).has_validation_errors()
    lead = Lead.objects.get(source="later")
    assert lead in eligibility.held_leads()
    run_pipeline(source="later", limit=10, campaign_ref=campaign.ref, apply=True)
    assert not PendingEmail.objects.filter(lead=lead).exists()


@pytest.mark.parametrize("name", ["DND", "complaint", "hard bounce"])
def test_an_opt_out_for_a_known_lead_writes_one_suppression_row(name, client):
    """record_opt_out suppresses the lead by its address; the lead the event names by its id is the same one."""
    delivery, kind = OPT_OUTS[name]
    lead = make_lead(email="jdoe@known.example", ghl_contact_id="contact-wh-known")
    payload = delivery("JDoe+promo@known.example", "wh-known")
    if name == "DND":
        payload["id"] = lead.ghl_contact_id
    else:
        payload["contactId"] = lead.ghl_contact_id

    assert post(client, payload).status_code == 200

    assert WebhookDelivery.objects.get().outcome == f"lead {lead.pk} {kind}"
    assert list(Suppression.objects.values_list("lead_id", "kind")) == [(lead.pk, kind)]


def test_operators_see_how_many_opt_outs_wait_for_a_lead(client, operator):
    post(client, dnd("nobody-yet@later.example", "wh-figure"))
    client.force_login(operator)

    page = client.get("/admin/outreach/webhookdelivery/").content.decode()

    assert "Opt-outs kept for an address with no lead: 1" in page
    make_lead(email="nobody-yet@later.example")
    assert "Opt-outs kept for an address with no lead: 0" in client.get("/admin/outreach/webhookdelivery/").content.decode()
