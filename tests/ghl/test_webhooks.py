"""Webhook signature verification, freshness and event parsing."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ghl.errors import GhlSignatureError
from ghl.sandbox.keys import ed25519_key, rsa_key
from ghl.webhooks import (
    ContactDndEvent,
    EmailStatsEvent,
    MessageEvent,
    WebhookEvent,
    WebhookSigner,
    check_freshness,
    compact_json,
    load_public_key,
    parse_event,
    public_key_pem,
    verify_delivery,
    verify_signature,
)

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=timezone.utc)
ED_PEM = public_key_pem(ed25519_key("test-seed"))
RSA_PEM = public_key_pem(rsa_key("test-seed"))
SIGNER = WebhookSigner(ed25519_key("test-seed"), rsa_key("test-seed"))


def delivery(**fields) -> bytes:
    payload = {
        "type": "OutboundMessage",
        "locationId": "loc1",
        "webhookId": "wh-1",
        "timestamp": "2026-11-21T11:59:00.000Z",
        "messageId": "m1",
        "conversationId": "c1",
        "contactId": "ct1",
        "messageType": "Email",
        "emailMessageId": "e1",
        "threadId": "e1",
        "direction": "outbound",
        "subject": "Hello – café",
        "body": "<p>hi</p>",
        "status": "sent",
        "from": "us@example.com",
    }
    payload.update(fields)
    return compact_json(payload)


def verify(body: bytes, headers: dict, **kwargs):
    kwargs.setdefault("ed25519_public_key", ED_PEM)
    kwargs.setdefault("rsa_public_key", RSA_PEM)
    kwargs.setdefault("max_age_seconds", 300)
    kwargs.setdefault("now", NOW)
    return verify_delivery(body, headers, **kwargs)


def test_it_accepts_a_good_ed25519_signature():
    body = delivery()
    event = verify(body, SIGNER.headers(body))
    assert isinstance(event, MessageEvent)
    assert (event.message_id, event.email_message_id, event.conversation_id, event.contact_id) == ("m1", "e1", "c1", "ct1")
    assert event.direction == "outbound" and event.dedupe_key == "wh-1"
    assert event.subject == "Hello – café"


def test_compact_json_keeps_non_ascii_and_has_no_spaces():
    assert compact_json({"a": "é", "b": [1, 2]}) == '{"a":"é","b":[1,2]}'.encode()


def test_it_rejects_a_bad_ed25519_signature():
    body = delivery()
    headers = SIGNER.headers(delivery(subject="something else"))
    with pytest.raises(GhlSignatureError, match="x-ghl-signature does not match"):
        verify(body, headers)


def test_it_rejects_a_signature_by_another_key():
    body = delivery()
    other = WebhookSigner(Ed25519PrivateKey.generate())
    with pytest.raises(GhlSignatureError):
        verify(body, other.headers(body))


def test_it_rejects_a_delivery_without_signature():
    with pytest.raises(GhlSignatureError, match="no x-ghl-signature or x-wh-signature"):
        verify(delivery(), {"Content-Type": "application/json"})


def test_it_rejects_a_signature_that_is_not_base64():
    with pytest.raises(GhlSignatureError, match="not valid base64"):
        verify(delivery(), {"x-ghl-signature": "***"})


def test_it_accepts_a_good_legacy_rsa_signature():
    body = delivery()
    headers = SIGNER.headers(body, ed25519=False, rsa=True)
    assert set(headers) == {"x-wh-signature"}
    assert verify_signature(body, headers, ed25519_public_key=ED_PEM, rsa_public_key=RSA_PEM) == "x-wh-signature"


def test_it_rejects_a_bad_legacy_rsa_signature():
    body = delivery()
    headers = SIGNER.headers(delivery(body="<p>changed</p>"), ed25519=False, rsa=True)
    with pytest.raises(GhlSignatureError, match="x-wh-signature does not match"):
        verify(body, headers)


def test_a_bad_ed25519_signature_never_falls_back_to_a_good_rsa_one():
    body = delivery()
    headers = {**SIGNER.headers(body, ed25519=False, rsa=True), "x-ghl-signature": SIGNER.headers(b"other")["x-ghl-signature"]}
    with pytest.raises(GhlSignatureError, match="x-ghl-signature"):
        verify(body, headers)


def test_headers_are_matched_case_insensitively():
    body = delivery()
    headers = {"X-GHL-Signature": SIGNER.sign_ed25519(body)}
    assert verify_signature(body, headers, ed25519_public_key=ED_PEM) == "x-ghl-signature"


def test_a_reformatted_body_is_checked_against_its_compact_form():
    body = delivery()
    headers = SIGNER.headers(body)
    # A proxy pretty-printed the JSON: the signature is over GHL's compact bytes.
    spaced = json.dumps(json.loads(body), indent=2, ensure_ascii=True).encode()
    assert verify(spaced, headers).webhook_id == "wh-1"


def test_missing_keys_are_reported_clearly(settings):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = ""
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = ""
    body = delivery()
    with pytest.raises(GhlSignatureError, match="no Ed25519 public key is configured"):
        verify_signature(body, SIGNER.headers(body))
    with pytest.raises(GhlSignatureError, match="no RSA public key is configured"):
        verify_signature(body, SIGNER.headers(body, ed25519=False, rsa=True))


def test_keys_come_from_settings_in_env_file_form(settings):
    # .env files carry PEM on one line with literal \n.
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = ED_PEM.replace("\n", "\\n")
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = RSA_PEM
    body = delivery()
    assert verify_signature(body, SIGNER.headers(body)) == "x-ghl-signature"
    assert verify_signature(body, SIGNER.headers(body, ed25519=False, rsa=True)) == "x-wh-signature"


def test_key_loading_accepts_pem_der_and_raw_and_rejects_junk():
    public = ed25519_key("test-seed").public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    for text in (ED_PEM, base64.b64encode(raw).decode(), base64.b64encode(der).decode()):
        assert load_public_key(text).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == raw
    with pytest.raises(GhlSignatureError, match="cannot be parsed"):
        load_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")
    with pytest.raises(GhlSignatureError, match="empty"):
        load_public_key("  ")


def test_a_raw_hex_key_verifies_a_delivery_signed_by_its_private_half(settings):
    # GHL's SDK takes the raw 32-byte key in hex too; so does the setting.
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = raw.hex()
    body = delivery()
    assert verify_signature(body, {"x-ghl-signature": base64.b64encode(private.sign(body)).decode()}) == "x-ghl-signature"
    assert load_public_key(raw.hex().upper()).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == raw
    with pytest.raises(GhlSignatureError, match="x-ghl-signature does not match"):
        verify_signature(body, SIGNER.headers(body))  # signed by another key


def test_an_rsa_only_delivery_is_refused_unless_the_rsa_key_is_set(settings):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = ED_PEM
    body = delivery()
    rsa_only = SIGNER.headers(body, ed25519=False, rsa=True)
    # There is no default RSA key: GHL no longer sends x-wh-signature.
    assert settings.GHL_WEBHOOK_RSA_PUBLIC_KEY == ""
    with pytest.raises(GhlSignatureError, match="no RSA public key is configured"):
        verify_signature(body, rsa_only)
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = RSA_PEM
    assert verify_signature(body, rsa_only) == "x-wh-signature"


def test_a_key_of_the_wrong_kind_is_refused():
    body = delivery()
    with pytest.raises(GhlSignatureError, match="not an Ed25519 key"):
        verify_signature(body, SIGNER.headers(body), ed25519_public_key=RSA_PEM)


def test_it_rejects_a_stale_delivery():
    body = delivery(timestamp="2026-11-21T11:50:00.000Z")  # 10 minutes old
    with pytest.raises(GhlSignatureError, match="stale"):
        verify(body, SIGNER.headers(body))


def test_it_rejects_a_timestamp_from_the_future():
    body = delivery(timestamp="2026-11-21T12:30:00Z")
    with pytest.raises(GhlSignatureError, match="future"):
        verify(body, SIGNER.headers(body))


def test_it_accepts_a_delivery_without_timestamp_as_unstamped_unless_told_to_require_one():
    payload = json.loads(delivery())
    del payload["timestamp"]
    body = compact_json(payload)
    event = verify(body, SIGNER.headers(body))
    assert event.type == "OutboundMessage" and not event.stamped
    with pytest.raises(GhlSignatureError, match="no timestamp"):
        verify(body, SIGNER.headers(body), require_timestamp=True)


def test_an_unreadable_timestamp_is_refused_even_when_none_is_required():
    body = delivery(timestamp="yesterday-ish")
    with pytest.raises(GhlSignatureError, match="no readable timestamp"):
        verify(body, SIGNER.headers(body))


def test_freshness_reads_epoch_timestamps_too():
    check_freshness({"timestamp": (NOW - timedelta(seconds=30)).timestamp() * 1000}, max_age_seconds=300, now=NOW)
    with pytest.raises(GhlSignatureError):
        check_freshness({"timestamp": (NOW - timedelta(hours=1)).timestamp()}, max_age_seconds=300, now=NOW)


def test_it_parses_email_stats_events():
    event = parse_event(
        {
            "type": "LCEmailStats",
            "locationId": "loc1",
            "webhookId": "wh-9",
            "webhookPayload": {
                "event": "failed",
                "id": "mg-1",
                "severity": "permanent",
                "reason": "bounce",
                "recipient": "ann@example.com",
                "lc-operations": {"email_message_id": "e1"},
            },
        }
    )
    assert isinstance(event, EmailStatsEvent)
    assert (event.event, event.email_message_ids, event.recipient) == ("failed", ("e1",), "ann@example.com")
    assert event.is_hard_bounce and event.dedupe_key == "lcemailstats:mg-1"


def test_it_parses_dnd_updates_and_unknown_types():
    dnd = parse_event(
        {"type": "ContactDndUpdate", "id": "ct1", "email": "a@b.co", "dnd": False, "dndSettings": {"Email": {"status": "active"}}}
    )
    assert isinstance(dnd, ContactDndEvent) and dnd.contact_id == "ct1" and dnd.email_blocked
    other = parse_event({"type": "ContactTagUpdate", "webhookId": "w"})
    assert type(other) is WebhookEvent and other.type == "ContactTagUpdate"


def test_non_object_bodies_are_refused():
    body = b"[1,2]"
    with pytest.raises(GhlSignatureError, match="not a JSON object"):
        verify(body, SIGNER.headers(body))


def test_seeded_keys_are_deterministic():
    assert public_key_pem(ed25519_key("test-seed")) == ED_PEM
    assert public_key_pem(rsa_key("test-seed")) == RSA_PEM
    assert public_key_pem(ed25519_key("other-seed")) != ED_PEM
    assert rsa_key("test-seed").key_size == 2048
