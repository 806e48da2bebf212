"""GHL webhook authenticity, freshness and parsing (no Django views here).

GHL signs the raw JSON body of each delivery:

* `x-ghl-signature` - base64 Ed25519 signature, and since 1 July 2026 the only
  header GHL sends (its SDK 3.1.0: the RSA header "is no longer sent");
* `x-wh-signature` - base64 RSA PKCS#1 v1.5 / SHA-256 signature (legacy).

We follow the official SDK's order: when `x-ghl-signature` is present and an
Ed25519 key is configured, it alone decides (no fallback to the legacy header,
so a forged Ed25519 header cannot be "rescued" by a weaker check); otherwise
`x-wh-signature` is checked, but only with an RSA key configured explicitly:
there is no default key, as GHL no longer signs with one. A delivery that
neither check can prove is rejected. Keys are configurable (PEM, or the raw
32-byte Ed25519 key in base64 or hex, see `ghl.keys`) because GHL rotates them.

Replay: GHL's authentication guide describes a top-level `timestamp` and
`webhookId`, but none of its event documents' examples carries them. The safer
reading is to accept a validly signed delivery without them (refusing it would
lose the event: GHL never redelivers after a 401), deduplicate it on a key
derived from its content, and mark it unstamped; a timestamp that is present
must still be inside the window.

`WebhookSigner` produces the same headers; the local sandbox uses it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from django.conf import settings

from ghl import keys
from ghl.errors import GhlSignatureError

ED25519_HEADER = "x-ghl-signature"
RSA_HEADER = "x-wh-signature"


# -- keys ---------------------------------------------------------------------


def load_public_key(text: str) -> Ed25519PublicKey | RSAPublicKey:
    """Parse a configured public key (see `ghl.keys`); raise GhlSignatureError naming what is wrong."""
    try:
        return keys.load_public_key(text)
    except keys.PublicKeyError as exc:
        raise GhlSignatureError(f"webhook public key {exc}") from None


def public_key_pem(key: Ed25519PrivateKey | RSAPrivateKey | Ed25519PublicKey | RSAPublicKey) -> str:
    """Return the SubjectPublicKeyInfo PEM of a (private or public) key."""
    public = key.public_key() if hasattr(key, "public_key") else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def compact_json(payload: Any) -> bytes:
    """Serialize like GHL (and JavaScript's JSON.stringify): no spaces, non-ASCII kept as UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# -- signing (the sandbox) ----------------------------------------------------


class WebhookSigner:
    """Sign delivery bodies the way GHL does."""

    def __init__(self, ed25519_key: Ed25519PrivateKey, rsa_key: RSAPrivateKey | None = None) -> None:
        self.ed25519_key = ed25519_key
        self.rsa_key = rsa_key

    def sign_ed25519(self, body: bytes) -> str:
        return base64.b64encode(self.ed25519_key.sign(body)).decode()

    def sign_rsa(self, body: bytes) -> str:
        if self.rsa_key is None:
            raise ValueError("no RSA key to sign the legacy x-wh-signature with")
        return base64.b64encode(self.rsa_key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()

    def headers(self, body: bytes, *, ed25519: bool = True, rsa: bool = False) -> dict[str, str]:
        headers: dict[str, str] = {}
        if ed25519:
            headers[ED25519_HEADER] = self.sign_ed25519(body)
        if rsa:
            headers[RSA_HEADER] = self.sign_rsa(body)
        return headers


# -- verification (the app) ---------------------------------------------------


def _get_header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def _decode_signature(value: str, header: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise GhlSignatureError(f"{header} is not valid base64") from None


def _candidate_bodies(body: bytes) -> Iterator[bytes]:
    # The raw bytes first; a proxy that re-encoded the JSON is tolerated by
    # also trying GHL's compact serialization of the same document. Lazily:
    # the re-encoding is only worth its cost when the raw bytes do not verify.
    yield body
    try:
        compact = compact_json(json.loads(body))
    except (ValueError, RecursionError):  # a forged, absurdly nested body must get a 401, not a 500
        return
    if compact != body:
        yield compact


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    *,
    ed25519_public_key: str | Ed25519PublicKey | None = None,
    rsa_public_key: str | RSAPublicKey | None = None,
) -> str:
    """Check a delivery's signature and return the header that proved it; raise GhlSignatureError.

    Keys default to settings GHL_WEBHOOK_ED25519_PUBLIC_KEY / GHL_WEBHOOK_RSA_PUBLIC_KEY.
    """
    ed25519_signature = _get_header(headers, ED25519_HEADER)
    ed25519_key = ed25519_public_key if ed25519_public_key is not None else settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY
    if ed25519_signature is not None and ed25519_key:
        key = ed25519_key
        public = load_public_key(key) if isinstance(key, str) else key
        if not isinstance(public, Ed25519PublicKey):
            raise GhlSignatureError("the configured x-ghl-signature key is not an Ed25519 key")
        signature = _decode_signature(ed25519_signature, ED25519_HEADER)
        for candidate in _candidate_bodies(body):
            try:
                public.verify(signature, candidate)
                return ED25519_HEADER
            except InvalidSignature:
                continue
        raise GhlSignatureError("x-ghl-signature does not match the body")

    rsa_signature = _get_header(headers, RSA_HEADER)
    if rsa_signature is not None:
        key = rsa_public_key if rsa_public_key is not None else settings.GHL_WEBHOOK_RSA_PUBLIC_KEY
        if not key:
            raise GhlSignatureError("x-wh-signature present but no RSA public key is configured")
        public = load_public_key(key) if isinstance(key, str) else key
        if not isinstance(public, RSAPublicKey):
            raise GhlSignatureError("the configured x-wh-signature key is not an RSA key")
        signature = _decode_signature(rsa_signature, RSA_HEADER)
        for candidate in _candidate_bodies(body):
            try:
                public.verify(signature, candidate, padding.PKCS1v15(), hashes.SHA256())
                return RSA_HEADER
            except InvalidSignature:
                continue
        raise GhlSignatureError("x-wh-signature does not match the body")

    if ed25519_signature is not None:
        raise GhlSignatureError("x-ghl-signature present but no Ed25519 public key is configured (and no x-wh-signature)")
    raise GhlSignatureError("the delivery carries no x-ghl-signature or x-wh-signature header")


def parse_timestamp(value: Any) -> datetime | None:
    """Return an aware datetime from GHL's ISO string (or epoch seconds/milliseconds), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000.0 if value > 1e11 else float(value)
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # out of range or NaN: unreadable, not a 500
            return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def check_freshness(
    payload: Mapping[str, Any],
    *,
    max_age_seconds: float | None = None,
    now: datetime | None = None,
    require_timestamp: bool = True,
) -> None:
    """Reject a delivery whose `timestamp` is older (or further in the future) than the max age.

    A replayed, validly signed old delivery is stopped here; duplicates within
    the window are stopped by deduplicating on `webhookId`. A delivery without
    a timestamp passes unless `require_timestamp`; one with an unreadable
    timestamp never does.
    """
    max_age = float(max_age_seconds if max_age_seconds is not None else settings.GHL_WEBHOOK_MAX_AGE_SECONDS)
    raw = payload.get("timestamp")
    when = parse_timestamp(raw)
    if when is None:
        if raw is not None and raw != "":
            # A timestamp we cannot read cannot be shown to be fresh: refuse it, whatever require_timestamp says.
            raise GhlSignatureError("the delivery has no readable timestamp")
        if require_timestamp:
            raise GhlSignatureError("the delivery has no timestamp")
        return
    now = now or datetime.now(timezone.utc)
    age = (now - when).total_seconds()
    if age > max_age:
        raise GhlSignatureError(f"the delivery is stale ({age:.0f}s old, limit {max_age:.0f}s)")
    if age < -max_age:
        raise GhlSignatureError(f"the delivery timestamp is {-age:.0f}s in the future")


# -- events -------------------------------------------------------------------


def content_key(payload: Mapping[str, Any]) -> str:
    """Return a key naming this exact content: the full SHA-256 of its canonical JSON."""
    canonical = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode("utf-8")
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def _id_key(prefix: str, value: str) -> str:
    # Keys are stored in 128 characters: a longer id is hashed whole, never cut (two ids sharing a prefix are two events).
    key = f"{prefix}{value}"
    return key if len(key) <= 128 else "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class WebhookEvent:
    """Common envelope of every delivery."""

    type: str
    location_id: str
    webhook_id: str
    timestamp: datetime | None
    payload: dict[str, Any] = field(repr=False, compare=False)

    @property
    def stamped(self) -> bool:
        """True when GHL sent the replay-protection fields (timestamp and webhookId)."""
        return bool(self.webhook_id) and self.timestamp is not None

    @property
    def dedupe_key(self) -> str:
        """The key under which this event is applied at most once (never empty)."""
        return _id_key("", self.webhook_id) if self.webhook_id else content_key(self.payload)


@dataclass(frozen=True)
class MessageEvent(WebhookEvent):
    """OutboundMessage / InboundMessage."""

    direction: str = ""
    message_type: str = ""
    contact_id: str = ""
    conversation_id: str = ""
    message_id: str = ""
    email_message_id: str = ""
    thread_id: str = ""
    subject: str = ""
    body: str = ""
    status: str = ""
    sender: str = ""
    date_added: datetime | None = None


class Bounce:
    """How an LCEmailStats event reads as a bounce."""

    NONE = ""
    HARD = "hard"
    SOFT = "soft"
    # A failure whose permanence the delivery does not tell: kept and counted, never taken for hard.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class EmailStatsEvent(WebhookEvent):
    """LCEmailStats: one Mailgun event (accepted, delivered, opened, clicked, failed, complained, unsubscribed...)."""

    event: str = ""
    event_id: str = ""
    # webhookPayload.message.headers.message-id: the documented link to the email.
    message_id_header: str = ""
    # lc-operations.email_message_id: not in GHL's documents; community reports say GHL sends it.
    lc_email_message_id: str = ""
    recipient: str = ""
    # Not in GHL's documents either (Mailgun sends it; so does the sandbox): "permanent" or "temporary".
    severity: str = ""
    reason: str = ""
    url: str = ""
    delivery_code: int | None = None
    enhanced_code: str = ""

    @property
    def dedupe_key(self) -> str:
        # Mailgun's event id is stable across GHL redeliveries even if webhookId were not.
        return _id_key("lcemailstats:", self.event_id) if self.event_id else super().dedupe_key

    @property
    def email_message_ids(self) -> tuple[str, ...]:
        """Every id this event may name its email by, documented first.

        GHL does not document how the Message-ID header relates to the
        emailMessageId a send returns, so the header is tried whole (without
        its angle brackets) and by its local part, then lc-operations.
        """
        candidates: list[str] = []
        header = self.message_id_header.strip().strip("<>").strip()
        if header:
            candidates.append(header)
            if "@" in header:
                candidates.append(header.split("@", 1)[0])
        if self.lc_email_message_id:
            candidates.append(self.lc_email_message_id)
        return tuple(dict.fromkeys(c for c in candidates if c))

    @property
    def bounce(self) -> str:
        """Return Bounce.HARD / SOFT / UNKNOWN for a failed delivery, Bounce.NONE otherwise.

        From what is documented (delivery-status code and enhanced code: SMTP 5xx
        is permanent, 4xx temporary) and what Mailgun and the sandbox send
        besides (severity). Anything else is UNKNOWN, never guessed as hard.
        """
        if self.event != "failed":
            return Bounce.NONE
        if self.severity == "permanent":
            return Bounce.HARD
        if self.severity == "temporary":
            return Bounce.SOFT
        if self.delivery_code is not None and 500 <= self.delivery_code < 600:
            return Bounce.HARD
        if self.delivery_code is not None and 400 <= self.delivery_code < 500:
            return Bounce.SOFT
        if self.enhanced_code.startswith("5."):
            return Bounce.HARD
        if self.enhanced_code.startswith("4."):
            return Bounce.SOFT
        return Bounce.UNKNOWN

    @property
    def is_hard_bounce(self) -> bool:
        return self.bounce == Bounce.HARD


@dataclass(frozen=True)
class ContactDndEvent(WebhookEvent):
    """ContactDndUpdate: the contact's DND changed (e.g. unsubscribe link)."""

    contact_id: str = ""
    email: str = ""
    dnd: bool = False
    email_dnd_status: str = ""

    @property
    def email_blocked(self) -> bool:
        return self.dnd or self.email_dnd_status in ("active", "permanent")


@dataclass(frozen=True)
class ContactUpdateEvent(WebhookEvent):
    """ContactUpdate: a contact's fields changed in GHL (its address among them)."""

    contact_id: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""


@dataclass(frozen=True)
class AppointmentEvent(WebhookEvent):
    """AppointmentCreate: a meeting was booked with a contact."""

    appointment_id: str = ""
    contact_id: str = ""
    status: str = ""


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _obj(value: Any) -> Mapping[str, Any]:
    """Return `value` if it is a JSON object, else an empty one: a sub-object of an odd shape is empty, not a 500."""
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_event(payload: Mapping[str, Any]) -> WebhookEvent:
    """Return the typed event for a decoded delivery body, read as GHL's event documents show it.

    Unknown types get the plain envelope. The `type` field decides between
    InboundMessage and OutboundMessage: GHL's own examples carry a `direction`
    that contradicts it (an OutboundMessage marked inbound), so direction is
    not trusted for that.
    """
    if not isinstance(payload, Mapping):
        raise GhlSignatureError("the delivery body is not a JSON object")
    event_type = _str(payload.get("type"))
    common = {
        "type": event_type,
        "location_id": _str(payload.get("locationId")),
        "webhook_id": _str(payload.get("webhookId")),
        "timestamp": parse_timestamp(payload.get("timestamp")),
        "payload": dict(payload),
    }
    if event_type in ("OutboundMessage", "InboundMessage"):
        return MessageEvent(
            **common,
            direction=_str(payload.get("direction")),
            message_type=_str(payload.get("messageType")),
            contact_id=_str(payload.get("contactId")),
            conversation_id=_str(payload.get("conversationId")),
            message_id=_str(payload.get("messageId") or payload.get("id")),
            email_message_id=_str(payload.get("emailMessageId")),
            thread_id=_str(payload.get("threadId")),
            subject=_str(payload.get("subject")),
            body=_str(payload.get("body")),
            status=_str(payload.get("status")),
            sender=_str(payload.get("from")),
            date_added=parse_timestamp(payload.get("dateAdded")),
        )
    if event_type == "LCEmailStats":
        stats = _obj(payload.get("webhookPayload"))
        operations = _obj(stats.get("lc-operations"))
        headers = _obj(_obj(stats.get("message")).get("headers"))
        status = _obj(stats.get("delivery-status"))
        return EmailStatsEvent(
            **common,
            event=_str(stats.get("event")),
            event_id=_str(stats.get("id")),
            message_id_header=_str(headers.get("message-id")),
            lc_email_message_id=_str(operations.get("email_message_id")),
            recipient=_str(stats.get("recipient")),
            severity=_str(stats.get("severity")),
            reason=_str(stats.get("reason")),
            url=_str(stats.get("url")),
            delivery_code=_int(status.get("code")),
            enhanced_code=_str(status.get("enhanced-code")),
        )
    if event_type == "ContactDndUpdate":
        email_dnd = _obj(_obj(payload.get("dndSettings")).get("Email"))
        return ContactDndEvent(
            **common,
            contact_id=_str(payload.get("id") or payload.get("contactId")),
            email=_str(payload.get("email")),
            dnd=payload.get("dnd") is True,
            email_dnd_status=_str(email_dnd.get("status")),
        )
    if event_type == "ContactUpdate":
        return ContactUpdateEvent(
            **common,
            contact_id=_str(payload.get("id")),
            email=_str(payload.get("email")),
            first_name=_str(payload.get("firstName")),
            last_name=_str(payload.get("lastName")),
        )
    if event_type == "AppointmentCreate":
        appointment = _obj(payload.get("appointment"))
        return AppointmentEvent(
            **common,
            appointment_id=_str(appointment.get("id")),
            contact_id=_str(appointment.get("contactId")),
            status=_str(appointment.get("appointmentStatus")),
        )
    return WebhookEvent(**common)


def verify_delivery(
    body: bytes,
    headers: Mapping[str, str],
    *,
    ed25519_public_key: str | Ed25519PublicKey | None = None,
    rsa_public_key: str | RSAPublicKey | None = None,
    max_age_seconds: float | None = None,
    now: datetime | None = None,
    require_timestamp: bool = False,
) -> WebhookEvent:
    """Verify signature and freshness of one delivery and return its typed event; raise GhlSignatureError.

    1. The signature over the raw body (SDK order, see module docstring).
    2. The JSON body must be an object.
    3. A `timestamp`, when there is one, must be readable and within the max
       age; without one the delivery is unstamped (see module docstring).
    """
    verify_signature(body, headers, ed25519_public_key=ed25519_public_key, rsa_public_key=rsa_public_key)
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise GhlSignatureError("the delivery body is not JSON") from None
    if not isinstance(payload, dict):
        raise GhlSignatureError("the delivery body is not a JSON object")
    check_freshness(payload, max_age_seconds=max_age_seconds, now=now, require_timestamp=require_timestamp)
    return parse_event(payload)
