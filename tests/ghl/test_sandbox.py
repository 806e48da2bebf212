"""The sandbox itself: GHL behaviours it emulates, fault switches, webhooks, persistence."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from ghl.errors import GhlSignatureError, GhlValidationError
from ghl.sandbox.common import SENDER_EMAIL
from ghl.sandbox.core import Sandbox
from ghl.sandbox.testing import SandboxControlError, SandboxThread
from ghl.webhooks import ContactDndEvent, EmailStatsEvent, MessageEvent, verify_delivery

RATE_HEADERS = [
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
    "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
]


def raw(sandbox, method: str, path: str, *, version: str | None = "2021-07-28", token: str | None = None, **kwargs):
    """One request without our client, to see exactly what the sandbox answers."""
    headers = {"Authorization": f"Bearer {token or sandbox.token}"}
    if version:
        headers["Version"] = version
    return requests.request(method, sandbox.base_url + path, headers=headers, timeout=5, **kwargs)


def send(client, contact_id, marker="caio-m"):
    return client.send_email(contact_id=contact_id, subject="Hi", html=f"<p>{marker}</p>", text=marker)


# -- API behaviour ------------------------------------------------------------


def test_every_answer_carries_the_five_rate_limit_headers(ghl_sandbox):
    first = raw(ghl_sandbox, "GET", "/contacts/search/duplicate", params={"locationId": ghl_sandbox.location_id})
    second = raw(ghl_sandbox, "GET", "/contacts/NOPE")
    for response in (first, second):
        assert all(name in response.headers for name in RATE_HEADERS)
    assert first.headers["X-RateLimit-Max"] == "100"
    assert first.headers["X-RateLimit-Interval-Milliseconds"] == "10000"
    assert int(first.headers["X-RateLimit-Remaining"]) - int(second.headers["X-RateLimit-Remaining"]) == 1
    assert int(first.headers["X-RateLimit-Daily-Remaining"]) == 199_999


def test_the_window_limit_answers_429_with_and_without_retry_after(ghl_sandbox):
    ghl_sandbox.configure(rate_limit={"max": 2, "interval_ms": 300})
    path = "/contacts/search/duplicate"
    params = {"locationId": ghl_sandbox.location_id}
    assert [raw(ghl_sandbox, "GET", path, params=params).status_code for _ in range(2)] == [200, 200]
    limited = raw(ghl_sandbox, "GET", path, params=params)
    assert limited.status_code == 429 and limited.json()["message"] == "Too Many Requests"
    assert limited.headers["Retry-After"] == "1" and limited.headers["X-RateLimit-Remaining"] == "0"
    time.sleep(0.35)  # the sliding window frees up
    assert raw(ghl_sandbox, "GET", path, params=params).status_code == 200

    ghl_sandbox.configure(rate_limit={"max": 1, "retry_after_header": False})
    raw(ghl_sandbox, "GET", path, params=params)
    limited = raw(ghl_sandbox, "GET", path, params=params)
    assert limited.status_code == 429 and "Retry-After" not in limited.headers


def test_the_daily_quota_answers_429(ghl_sandbox):
    ghl_sandbox.configure(rate_limit={"daily": 1})
    params = {"locationId": ghl_sandbox.location_id}
    ok = raw(ghl_sandbox, "GET", "/contacts/search/duplicate", params=params)
    assert ok.headers["X-RateLimit-Daily-Remaining"] == "0"
    assert raw(ghl_sandbox, "GET", "/contacts/search/duplicate", params=params).status_code == 429


def test_limits_are_counted_per_token(ghl_sandbox):
    ghl_sandbox.configure(rate_limit={"max": 1})
    ghl_sandbox.add_token("second-app")
    params = {"locationId": ghl_sandbox.location_id}
    assert raw(ghl_sandbox, "GET", "/contacts/search/duplicate", params=params).status_code == 200
    assert raw(ghl_sandbox, "GET", "/contacts/search/duplicate", params=params, token="second-app").status_code == 200
    assert raw(ghl_sandbox, "GET", "/contacts/search/duplicate", params=params).status_code == 429


def test_version_header_errors(ghl_sandbox):
    missing = raw(ghl_sandbox, "GET", "/contacts/x", version=None)
    assert missing.status_code == 401 and missing.json()["message"] == "version header was not found."
    invalid = raw(ghl_sandbox, "GET", "/contacts/x", version="2020-01-01")
    assert invalid.status_code == 401 and invalid.json()["message"] == "version header is invalid"
    # A published version that is not the one the spec declares for the endpoint is refused, always.
    assert raw(ghl_sandbox, "GET", "/contacts/search/duplicate", version="v3", params={"locationId": ghl_sandbox.location_id}).status_code == 401
    assert raw(ghl_sandbox, "GET", "/contacts/search/duplicate", version="2021-04-15", params={"locationId": ghl_sandbox.location_id}).status_code == 401
    assert raw(ghl_sandbox, "GET", "/contacts/search/duplicate", version="2021-07-28", params={"locationId": ghl_sandbox.location_id}).ok


def test_auth_errors_have_nest_style_bodies_with_trace_ids(ghl_sandbox):
    response = requests.get(ghl_sandbox.base_url + "/contacts/x", headers={"Version": "2021-07-28"}, timeout=5)
    body = response.json()
    assert response.status_code == 401 and body["error"] == "Unauthorized" and body["statusCode"] == 401
    assert body["message"] == "Invalid JWT" and len(body["traceId"]) == 36


def test_unknown_routes_say_cannot_get(ghl_sandbox):
    response = raw(ghl_sandbox, "GET", "/opportunities/pipelines")
    assert response.status_code == 404 and response.json()["message"] == "Cannot GET /opportunities/pipelines"


def test_create_on_a_no_duplicates_location_returns_the_existing_contact(ghl_sandbox):
    body = {"locationId": ghl_sandbox.location_id, "email": "ann@example.com", "firstName": "Ann"}
    assert raw(ghl_sandbox, "POST", "/contacts/", json=body).status_code == 201
    duplicate = raw(ghl_sandbox, "POST", "/contacts/", json={**body, "email": "ANN@example.com"})
    assert duplicate.status_code == 400
    assert duplicate.json()["message"] == "This location does not allow duplicated contacts."
    assert duplicate.json()["meta"]["matchingField"] == "email"
    assert duplicate.json()["meta"]["contactId"] == ghl_sandbox.contacts()[0]["id"]


def test_duplicates_allowed_upsert_creates_only_when_asked(ghl_sandbox):
    ghl_sandbox.configure(location={"allow_duplicates": True})
    body = {"locationId": ghl_sandbox.location_id, "email": "ann@example.com"}
    first = raw(ghl_sandbox, "POST", "/contacts/upsert", json=body).json()
    same = raw(ghl_sandbox, "POST", "/contacts/upsert", json=body).json()
    forced = raw(ghl_sandbox, "POST", "/contacts/upsert", json={**body, "createNewIfDuplicateAllowed": True}).json()
    assert first["new"] and not same["new"] and forced["new"]
    assert first["contact"]["id"] == same["contact"]["id"] != forced["contact"]["id"]


def test_phone_matching_follows_the_priority(ghl_sandbox):
    base = {"locationId": ghl_sandbox.location_id}
    by_email = raw(ghl_sandbox, "POST", "/contacts/upsert", json={**base, "email": "a@example.com"}).json()["contact"]
    by_phone = raw(ghl_sandbox, "POST", "/contacts/upsert", json={**base, "phone": "+15550001"}).json()["contact"]
    # Email matches one contact, phone another: the first field of the location's order wins.
    query = {"locationId": ghl_sandbox.location_id, "email": "a@example.com", "number": "+15550001"}
    assert raw(ghl_sandbox, "GET", "/contacts/search/duplicate", params=query).json()["contact"]["id"] == by_email["id"]
    ghl_sandbox.configure(location={"duplicate_priority": ["phone", "email"]})
    assert raw(ghl_sandbox, "GET", "/contacts/search/duplicate", params=query).json()["contact"]["id"] == by_phone["id"]


def test_upsert_replaces_tags_and_rejects_unknown_properties(ghl_sandbox):
    base = {"locationId": ghl_sandbox.location_id, "email": "ann@example.com"}
    raw(ghl_sandbox, "POST", "/contacts/upsert", json={**base, "tags": ["a", "b"]})
    contact = raw(ghl_sandbox, "POST", "/contacts/upsert", json={**base, "tags": ["c"]}).json()["contact"]
    assert contact["tags"] == ["c"]
    bad = raw(ghl_sandbox, "POST", "/contacts/upsert", json={**base, "shoeSize": 9, "email": "nope"})
    assert bad.status_code == 422
    assert bad.json()["message"] == ["property shoeSize should not exist", "email must be an email"]


def test_permanent_dnd_cannot_be_lifted_through_the_api(ghl_sandbox):
    contact = ghl_sandbox.add_contact("ann@example.com", dndSettings={"Email": {"status": "permanent"}})
    response = raw(ghl_sandbox, "PUT", f"/contacts/{contact['id']}", json={"dndSettings": {"Email": {"status": "inactive"}}})
    assert response.status_code == 400 and "permanent dnd" in response.json()["message"]
    # The operator can, through the control API (as in the GHL UI).
    assert ghl_sandbox.set_dnd(contact["id"], "inactive")["dndSettings"]["Email"]["status"] == "inactive"


def test_dnd_set_through_the_control_api_blocks_sends(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    send(client, contact.id)
    ghl_sandbox.set_dnd(contact.id, "active")
    assert client.get_contact(contact.id).email_blocked
    with pytest.raises(GhlValidationError, match="DND is active for Email"):
        send(client, contact.id)
    assert len(ghl_sandbox.deliveries()) == 1


def test_send_validates_its_body(ghl_sandbox):
    contact = ghl_sandbox.add_contact("ann@example.com")
    post = lambda body: raw(ghl_sandbox, "POST", "/conversations/messages", version="2021-04-15", json=body)  # noqa: E731
    assert post({"type": "Fax", "contactId": contact["id"]}).json()["message"][0].startswith("type must be one of")
    assert post({"type": "Email"}).json()["message"] == ["contactId should not be empty"]
    for email_from in (
        "Us <not-an-address>",
        "us@example.com, them@example.com",
        "Us <us@example.com>\r\nBcc: x@evil.example",
        # A group, and a broken domain literal the standard library's parser raises on rather than reporting.
        "Us: <us@example.com>;",
        "CBMR&X@[)9p",
    ):
        bad_from = post({"type": "Email", "contactId": contact["id"], "subject": "s", "html": "h", "emailFrom": email_from})
        assert bad_from.status_code == 422
        assert bad_from.json()["message"] == ["emailFrom must be an email or Name <email>"], email_from
    assert ghl_sandbox.deliveries() == []


@pytest.mark.parametrize(
    ("email_from", "name", "address"),
    [
        ("us@example.com", "", "us@example.com"),
        # GHL's own ProviderOutboundMessage example: "From Name <email@gmail.com>".
        ("From Name <email@gmail.com>", "From Name", "email@gmail.com"),
        ('"Rivera, Alex" <alex@example.com>', "Rivera, Alex", "alex@example.com"),
        ("=?utf-8?b?Sm9zw6kgTsO6w7Fleg==?= <jose@example.com>", "José Núñez", "jose@example.com"),
    ],
)
def test_send_takes_emailfrom_bare_or_named_and_records_both_parts(ghl_sandbox, email_from, name, address):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = client.send_email(contact_id=contact.id, subject="Hi", html="<p>x</p>", text="x", email_from=email_from)
    [delivery] = ghl_sandbox.deliveries()
    assert (delivery["from"], delivery["from_name"], delivery["from_email"]) == (email_from, name, address)
    # GHL's email record keeps the "Name and Email Id of the sender" as it came.
    assert ghl_sandbox.state()["emails"][sent.email_message_id]["from"] == email_from


def test_a_send_without_emailfrom_is_recorded_from_the_location_default(ghl_sandbox):
    client = ghl_sandbox.client()
    send(client, client.upsert_contact(email="ann@example.com").id)
    [delivery] = ghl_sandbox.deliveries()
    assert (delivery["from"], delivery["from_name"], delivery["from_email"]) == (SENDER_EMAIL, "", SENDER_EMAIL)


def test_a_reply_to_a_named_from_is_written_to_its_address(ghl_sandbox, webhook_receiver):
    ghl_sandbox.configure(webhook_url=webhook_receiver.url, auto_events=[])
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    client.send_email(contact_id=contact.id, subject="Hi", html="<p>x</p>", text="x", email_from="Alex Rivera <alex@example.com>")
    ghl_sandbox.trigger("InboundMessage", contact_id=contact.id, body="<p>Yes</p>")
    ghl_sandbox.trigger("delivered", contact_id=contact.id)
    reply, stats = (json.loads(d["body"]) for d in webhook_receiver.wait_for(2))
    assert reply["to"] == ["alex@example.com"]
    assert stats["webhookPayload"]["envelope"]["sender"] == "alex@example.com"
    assert stats["webhookPayload"]["message"]["headers"]["from"] == "Alex Rivera <alex@example.com>"


def test_scheduled_sends_can_be_cancelled(ghl_sandbox):
    contact = ghl_sandbox.add_contact("ann@example.com")
    later = int((datetime.now(timezone.utc) + timedelta(hours=1)).timestamp())
    body = {"type": "Email", "contactId": contact["id"], "subject": "s", "html": "h", "scheduledTimestamp": later}
    sent = raw(ghl_sandbox, "POST", "/conversations/messages", version="2021-04-15", json=body).json()
    assert ghl_sandbox.client().get_email(sent["emailMessageId"]).status == "scheduled"
    cancel = raw(ghl_sandbox, "DELETE", f"/conversations/messages/email/{sent['emailMessageId']}/schedule", version="2021-04-15")
    assert cancel.status_code == 200
    assert ghl_sandbox.deliveries()[0]["status"] == "cancelled"


def test_ids_are_deterministic_20_char_alphanumerics():
    def run() -> list[str]:
        with SandboxThread() as running:
            client = running.control.client()
            contact = client.upsert_contact(email="ann@example.com")
            sent = send(client, contact.id)
            return [contact.id, sent.conversation_id, sent.message_id, sent.email_message_id]

    first, second = run(), run()
    assert first == second
    assert len(set(first)) == 4 and all(len(i) == 20 and i.isalnum() for i in first)


def test_reset_forgets_everything(ghl_sandbox):
    client = ghl_sandbox.client()
    send(client, client.upsert_contact(email="ann@example.com").id)
    ghl_sandbox.add_fault("*", "latency", delay=0.01)
    ghl_sandbox.reset()
    assert ghl_sandbox.deliveries() == [] and ghl_sandbox.contacts() == [] and ghl_sandbox.faults() == []


# -- faults ---------------------------------------------------------------------


def test_a_fault_for_the_next_n_calls_expires(ghl_sandbox):
    client = ghl_sandbox.client(read_retries=0)
    ghl_sandbox.add_fault("contacts.search_duplicate", "error", status=503, count=2)
    outcomes = []
    for _ in range(3):
        try:
            client.find_contact_by_email("a@example.com")
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 - recording which error
            outcomes.append(type(exc).__name__)
    assert outcomes == ["GhlServerError", "GhlServerError", "ok"]
    assert ghl_sandbox.faults()[0]["hits"] == 2


def test_a_fault_only_hits_its_endpoints(ghl_sandbox):
    client = ghl_sandbox.client(read_retries=0)
    ghl_sandbox.add_fault("conversations.send", "error", status=500)
    assert client.find_contact_by_email("a@example.com") is None


@pytest.mark.parametrize(("probability", "expected_failures"), [(0.0, 0), (1.0, 5)])
def test_probability_faults(ghl_sandbox, probability, expected_failures):
    client = ghl_sandbox.client(read_retries=0)
    ghl_sandbox.add_fault("*", "error", status=500, probability=probability)
    failures = 0
    for _ in range(5):
        try:
            client.find_contact_by_email("a@example.com")
        except Exception:  # noqa: BLE001
            failures += 1
    assert failures == expected_failures


def test_a_half_probability_fault_is_repeatable_for_a_seed():
    def pattern() -> list[bool]:
        with SandboxThread() as running:
            client = running.control.client(read_retries=0)
            running.control.add_fault("*", "error", probability=0.5)
            result = []
            for _ in range(12):
                try:
                    client.find_contact_by_email("a@example.com")
                    result.append(True)
                except Exception:  # noqa: BLE001
                    result.append(False)
            return result

    first = pattern()
    assert first == pattern() and True in first and False in first


def test_a_latency_fault_delays_but_answers(ghl_sandbox):
    client = ghl_sandbox.client()
    ghl_sandbox.add_fault("contacts.search_duplicate", "latency", delay=0.3, count=1)
    started = time.monotonic()
    assert client.find_contact_by_email("a@example.com") is None
    assert 0.3 <= time.monotonic() - started < 1.5


def test_a_429_storm_then_recovery(ghl_sandbox):
    client = ghl_sandbox.client(read_retries=0)
    ghl_sandbox.add_fault("*", "rate_limit", count=3)
    statuses = []
    for _ in range(4):
        try:
            client.find_contact_by_email("a@example.com")
            statuses.append(200)
        except Exception as exc:  # noqa: BLE001
            statuses.append(exc.status)
    assert statuses == [429, 429, 429, 200]


def test_bad_fault_specs_are_refused_with_the_reason(ghl_sandbox):
    with pytest.raises(SandboxControlError, match="fault mode must be one of"):
        ghl_sandbox.add_fault("*", "explode")
    with pytest.raises(SandboxControlError, match="unknown endpoint"):
        ghl_sandbox.add_fault("contacts.teleport", "error")
    with pytest.raises(SandboxControlError, match="unknown config key"):
        ghl_sandbox.configure(colour="blue")


# -- webhooks -----------------------------------------------------------------------


@pytest.fixture
def wired(ghl_sandbox, webhook_receiver):
    """A sandbox whose webhooks go to a recording receiver, without automatic events."""
    ghl_sandbox.configure(webhook_url=webhook_receiver.url, auto_events=[], webhook_retry_interval=0.01)
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = send(client, contact.id, marker="caio-123")
    return ghl_sandbox, webhook_receiver, client, contact, sent


def verified(delivery, public_key):
    return verify_delivery(delivery["body"], delivery["headers"], ed25519_public_key=public_key, max_age_seconds=300)


def test_outbound_message_webhook_is_signed_and_shaped_like_ghl(wired):
    sandbox, receiver, _, contact, sent = wired
    sandbox.trigger("OutboundMessage", message_id=sent.message_id)
    [delivery] = receiver.wait_for(1)
    event = verified(delivery, sandbox.public_key_pem())
    assert isinstance(event, MessageEvent) and event.type == "OutboundMessage"
    assert (event.message_id, event.email_message_id, event.conversation_id, event.contact_id) == (
        sent.message_id,
        sent.email_message_id,
        sent.conversation_id,
        contact.id,
    )
    assert "caio-123" in event.body and len(event.webhook_id) == 20
    # Compact JSON, as GHL sends it.
    assert delivery["body"] == json.dumps(json.loads(delivery["body"]), separators=(",", ":"), ensure_ascii=False).encode()


def test_email_stats_events_update_the_message_status(wired):
    sandbox, receiver, client, _, sent = wired
    for event_name in ("accepted", "delivered", "opened", "clicked"):
        sandbox.trigger(event_name, email_message_id=sent.email_message_id)
    deliveries = receiver.wait_for(4)
    events = [verified(d, sandbox.public_key_pem()) for d in deliveries]
    assert all(isinstance(e, EmailStatsEvent) for e in events)
    assert [e.event for e in events] == ["accepted", "delivered", "opened", "clicked"]
    # The documented Message-ID header names the email (by its local part in the sandbox).
    assert all(e.email_message_ids[1] == sent.email_message_id for e in events)
    assert events[-1].url and len({e.event_id for e in events}) == 4
    # The message says clicked; the email record's documented statuses stop at opened.
    assert client.get_message(sent.message_id).status == "clicked"
    assert client.get_email(sent.email_message_id).status == "opened"


def test_a_hard_bounce_marks_the_email_failed(wired):
    sandbox, receiver, client, _, sent = wired
    sandbox.trigger("failed", email_message_id=sent.email_message_id, severity="permanent")
    event = verified(receiver.wait_for(1)[0], sandbox.public_key_pem())
    assert event.is_hard_bounce
    assert client.get_email(sent.email_message_id).status == "failed"


def test_an_unsubscribe_flips_dnd_and_emits_contact_dnd_update(wired):
    sandbox, receiver, client, contact, sent = wired
    sandbox.trigger("unsubscribed", email_message_id=sent.email_message_id)
    stats, dnd = (verified(d, sandbox.public_key_pem()) for d in receiver.wait_for(2))
    assert isinstance(stats, EmailStatsEvent) and stats.event == "unsubscribed"
    assert isinstance(dnd, ContactDndEvent) and dnd.contact_id == contact.id and dnd.email_blocked
    assert client.get_contact(contact.id).email_dnd_status == "active"
    with pytest.raises(GhlValidationError):
        send(client, contact.id)


def test_a_reply_arrives_as_inbound_message_in_the_same_thread(wired):
    sandbox, receiver, _, contact, sent = wired
    sandbox.trigger("InboundMessage", message_id=sent.message_id, body="<p>Sounds good</p>")
    event = verified(receiver.wait_for(1)[0], sandbox.public_key_pem())
    assert isinstance(event, MessageEvent) and event.direction == "inbound"
    assert event.conversation_id == sent.conversation_id and event.thread_id == sent.email_message_id
    assert event.contact_id == contact.id and event.body == "<p>Sounds good</p>"


def test_a_reply_by_contact_id_comes_from_that_contact_not_the_latest_send(wired):
    sandbox, receiver, client, contact, sent = wired
    other = client.upsert_contact(email="bob@example.com")
    send(client, other.id)
    sandbox.trigger("InboundMessage", contact_id=contact.id, body="<p>Yes</p>")
    event = verified(receiver.wait_for(1)[0], sandbox.public_key_pem())
    assert event.contact_id == contact.id and event.thread_id == sent.email_message_id
    nobody = sandbox.add_contact("never-emailed@example.com")
    with pytest.raises(SandboxControlError, match="no email was sent to contact"):
        sandbox.trigger("InboundMessage", contact_id=nobody["id"])


def test_contact_dnd_update_can_be_emitted_from_the_control_api(wired):
    sandbox, receiver, _, contact, _ = wired
    sandbox.set_dnd(contact.id, "active", emit=True)
    sandbox.wait_for_webhooks()
    event = verified(receiver.wait_for(1)[0], sandbox.public_key_pem())
    assert isinstance(event, ContactDndEvent) and event.email_blocked


def test_signature_switches_bad_missing_rsa_and_stale(wired):
    sandbox, receiver, _, _, sent = wired
    public_key = sandbox.public_key_pem()
    sandbox.trigger("delivered", email_message_id=sent.email_message_id, signature="bad")
    sandbox.trigger("delivered", email_message_id=sent.email_message_id, signature="missing")
    sandbox.trigger("delivered", email_message_id=sent.email_message_id, timestamp_offset_seconds=-3600)
    sandbox.trigger("delivered", email_message_id=sent.email_message_id, rsa_only=True)
    bad, missing, stale, legacy = receiver.wait_for(4)
    with pytest.raises(GhlSignatureError, match="does not match"):
        verified(bad, public_key)
    assert "x-ghl-signature" not in {k.lower() for k in missing["headers"]}
    with pytest.raises(GhlSignatureError, match="no x-ghl-signature"):
        verified(missing, public_key)
    with pytest.raises(GhlSignatureError, match="stale"):
        verified(stale, public_key)
    event = verify_delivery(
        legacy["body"], legacy["headers"], rsa_public_key=sandbox.sandbox.public_key_pem("rsa"), max_age_seconds=300
    )
    assert event.type == "LCEmailStats"


def test_duplicates_by_replay_or_reused_webhook_id(wired):
    sandbox, receiver, _, _, sent = wired
    first = sandbox.trigger("delivered", email_message_id=sent.email_message_id)["deliveries"][0]
    sandbox.replay(first["webhook_id"])
    sandbox.trigger("opened", email_message_id=sent.email_message_id, webhook_id=first["webhook_id"])
    original, replayed, reused = receiver.wait_for(3)
    assert replayed["body"] == original["body"]
    assert verified(reused, sandbox.public_key_pem()).webhook_id == first["webhook_id"]


def test_deliveries_are_retried_only_after_a_429(wired):
    sandbox, receiver, _, _, sent = wired
    receiver.statuses.extend([429, 429])
    record = sandbox.trigger("delivered", email_message_id=sent.email_message_id)["deliveries"][0]
    assert [a["status"] for a in record["attempts"]] == [429, 429, 200]
    receiver.statuses.extend([500])
    record = sandbox.trigger("opened", email_message_id=sent.email_message_id)["deliveries"][0]
    # A 5xx is final: GHL drops the event.
    assert [a["status"] for a in record["attempts"]] == [500]


def test_a_receiver_that_always_answers_429_gets_six_retries(wired):
    sandbox, receiver, _, _, sent = wired
    receiver.statuses.extend([429] * 10)
    record = sandbox.trigger("delivered", email_message_id=sent.email_message_id)["deliveries"][0]
    assert len(record["attempts"]) == 7 and record["final_status"] == 429


def test_sends_emit_the_configured_events_automatically(ghl_sandbox, webhook_receiver):
    ghl_sandbox.configure(webhook_url=webhook_receiver.url)
    client = ghl_sandbox.client()
    sent = send(client, client.upsert_contact(email="ann@example.com").id)
    ghl_sandbox.wait_for_webhooks()
    types = [json.loads(d["body"])["type"] for d in webhook_receiver.wait_for(3)]
    assert types == ["OutboundMessage", "LCEmailStats", "LCEmailStats"]
    assert client.get_email(sent.email_message_id).status == "delivered"


def test_webhooks_only_go_to_this_machine(ghl_sandbox):
    with pytest.raises(SandboxControlError, match="must be on this machine"):
        ghl_sandbox.configure(webhook_url="https://example.com/hook")


# -- persistence and the real process ---------------------------------------------


def test_state_persists_to_a_file_and_loads_back(tmp_path):
    state_file = str(tmp_path / "state.json")
    with SandboxThread(state_file=state_file) as running:
        client = running.control.client()
        sent = send(client, client.upsert_contact(email="ann@example.com").id)
    saved = json.loads(open(state_file, encoding="utf-8").read())
    assert saved["deliveries"][0]["message_id"] == sent.message_id
    reloaded = Sandbox(state_file=state_file)
    assert reloaded.state["deliveries"][0]["email_message_id"] == sent.email_message_id


def test_a_restarted_sandbox_keeps_its_sends_never_repeats_an_id_and_takes_the_new_webhook_url(tmp_path):
    state_file = str(tmp_path / "state.json")
    with SandboxThread(state_file=state_file) as running:
        client = running.control.client()
        first = send(client, client.upsert_contact(email="ann@example.com").id)
        ids_before = set(running.sandbox.state["messages"]) | set(running.sandbox.state["contacts"])

    restarted = Sandbox(state_file=state_file, webhook_url="http://127.0.0.1:8123/webhooks/ghl/")
    # The earlier send is still there to be verified; the next id is new.
    assert [d["message_id"] for d in restarted.state["deliveries"]] == [first.message_id]
    assert restarted.new_id("message") not in ids_before | {first.message_id, first.email_message_id}
    assert restarted.config["webhook_url"] == "http://127.0.0.1:8123/webhooks/ghl/"


@pytest.mark.slow
def test_the_subprocess_sandbox_serves_and_shares_its_log(ghl_sandbox_process, settings):
    from ghl.client import get_client
    from ghl.ratelimit import NullLimiter

    client = get_client(limiter=NullLimiter())
    assert client.base_url == ghl_sandbox_process.base_url
    sent = send(client, client.resolve_contact(email="ann@example.com").id)
    # Another process reads the delivery log from the state file.
    assert ghl_sandbox_process.read_state()["deliveries"][0]["message_id"] == sent.message_id
    assert ghl_sandbox_process.control.deliveries()[0]["email_message_id"] == sent.email_message_id
    assert "GHL_WEBHOOK_ED25519_PUBLIC_KEY" in ghl_sandbox_process.output()
    assert settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY.startswith("-----BEGIN PUBLIC KEY-----")


def test_a_sandbox_bug_is_answered_as_a_500_not_a_dropped_connection(monkeypatch):
    def broken(self, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(Sandbox, "api_contacts_get", broken)
    with SandboxThread() as running:
        response = raw(running.control, "GET", "/contacts/abc")
    assert response.status_code == 500 and response.json() == {"statusCode": 500, "message": "Internal server error"}
    assert "boom" not in response.text and "RuntimeError" not in response.text
