"""The sandbox's GHL emulation: state, API behaviour, faults, rate limits and webhook events.

Everything here is plain Python behind one lock; `ghl.sandbox.server` only
turns HTTP requests into `Sandbox.handle_api()` / `Sandbox.handle_control()`
calls. The state is JSON-serializable so it can be persisted to a file that
other processes read.

What it emulates (see ghl-api.md section 7): bearer tokens bound to one location
with scopes, the Version header, contacts with duplicate rules and DND,
email sends with NO idempotency, conversations and message/email reads,
per-(token, location) sliding-window and daily limits with the five
X-RateLimit-* headers, switchable faults, and signed webhook deliveries.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import random
import re
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlparse

from ghl.sandbox.keys import DEFAULT_SEED, ed25519_key, rsa_key
from ghl.webhooks import WebhookSigner, compact_json, public_key_pem

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "sandbox-token"
DEFAULT_LOCATION_ID = "sandboxLocation000001"
DEFAULT_COMPANY_ID = "sandboxCompany0000001"
SENDER_EMAIL = "outreach@sandbox.example"
PUBLISHED_VERSIONS = {"2021-04-15", "2021-07-28", "2023-02-21", "v3"}
ALL_SCOPES = [
    "contacts.readonly",
    "contacts.write",
    "conversations.readonly",
    "conversations/message.readonly",
    "conversations/message.write",
]
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
SEND_TYPES = ["SMS", "RCS", "Email", "WhatsApp", "IG", "FB", "Custom", "Live_Chat", "TIKTOK"]
SEND_FIELDS = {
    "type", "contactId", "subject", "html", "message", "emailFrom", "emailTo", "emailCc", "emailBcc",
    "attachments", "replyMessageId", "threadId", "emailReplyMode", "forward", "scheduledTimestamp",
    "conversationProviderId", "customSubtypeId", "appointmentId", "templateId", "subType", "status", "fromNumber",
    "toNumber",
}
CONTACT_FIELDS = {
    "locationId", "email", "phone", "firstName", "lastName", "name", "companyName", "source", "tags",
    "customFields", "timezone", "address1", "city", "state", "postalCode", "website", "country", "dateOfBirth",
    "assignedTo", "dnd", "dndSettings", "inboundDndSettings", "createNewIfDuplicateAllowed", "gender",
}
DND_CHANNELS = ("Call", "Email", "SMS", "WhatsApp", "GMB", "FB")
STATS_STATUS = {
    "accepted": "sent",
    "delivered": "delivered",
    "opened": "opened",
    "clicked": "clicked",
    "complained": None,
    "unsubscribed": None,
}
FAULT_MODES = {"error", "timeout", "latency", "rate_limit", "disconnect"}
ENDPOINTS = {
    "contacts.search_duplicate", "contacts.upsert", "contacts.create", "contacts.get", "contacts.update",
    "conversations.search", "conversations.send", "conversations.messages", "conversations.message",
    "conversations.email", "conversations.cancel_schedule",
}


# An email record's documented statuses lack "clicked": a clicked email is still an opened one.
EMAIL_STATUS = {"clicked": "opened"}


def without_nulls(record: dict[str, Any]) -> dict[str, Any]:
    """Return the record without null fields: the spec types them as strings or objects, never null."""
    return {k: v for k, v in record.items() if v is not None}


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SandboxError(Exception):
    """An API answer other than 2xx, raised inside handlers."""

    def __init__(self, status: int, message: str | list[str], *, error: str | None = None, **extra: Any) -> None:
        super().__init__(str(message))
        self.status = status
        self.body: dict[str, Any] = {"statusCode": status, "message": message}
        if error:
            self.body["error"] = error
        self.body.update(extra)


def unauthorized(message: str) -> SandboxError:
    return SandboxError(401, message, error="Unauthorized")


def unprocessable(*messages: str) -> SandboxError:
    return SandboxError(422, list(messages), error="Unprocessable Entity")


@dataclass
class Outcome:
    """How the server should answer: a JSON response, or hold/close the connection."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (latency fault)
    hold: float = 0.0  # seconds to hold, then close without answering (timeout fault)
    disconnect: bool = False  # close without answering


@dataclass(frozen=True)
class Exchange:
    """One API request and the sandbox's answer, as handed to observers (e.g. a contract check in tests)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    endpoint: str | None
    outcome: Outcome


def default_config() -> dict[str, Any]:
    return {
        "rate_limit": {"max": 100, "interval_ms": 10_000, "daily": 200_000, "retry_after_header": True},
        # Where webhook deliveries go (loopback only) and how.
        "webhook_url": "",
        "webhook_retry_interval": 600.0,
        "webhook_max_retries": 6,
        "webhook_timeout": 5.0,
        # Events emitted after each send when webhook_url is set.
        "auto_events": ["OutboundMessage", "accepted", "delivered"],
        "sign_ed25519": True,
        "sign_rsa": False,
        # Response shapes: the spec's by default; the others are shapes GHL is known to answer too.
        "messages_list_shape": "flat",  # or "nested"
        "email_shape": "bare",  # or "wrapped"
        "message_shape": "bare",  # or "wrapped"
        "messages_page_size": 20,
    }


class Sandbox:
    """In-memory GHL emulation for one or more locations."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        location_id: str = DEFAULT_LOCATION_ID,
        seed: str = DEFAULT_SEED,
        state_file: str | None = None,
        webhook_url: str = "",
        webhook_retry_interval: float | None = None,
    ) -> None:
        self.token = token
        self.location_id = location_id
        self.seed = seed
        self.state_file = state_file
        self.lock = threading.RLock()
        self.stop_event = threading.Event()
        self.signer = WebhookSigner(ed25519_key(seed))
        self._startup_config: dict[str, Any] = {"webhook_url": webhook_url}
        if webhook_retry_interval is not None:
            self._startup_config["webhook_retry_interval"] = webhook_retry_interval
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._daily: dict[tuple[str, str], int] = {}
        self._outbox: list[threading.Thread] = []
        # Called with every API Exchange, in the serving thread; in memory only.
        self.observers: list[Callable[[Exchange], None]] = []
        self.state: dict[str, Any] = {}
        self._rng = random.Random(seed)
        if state_file and os.path.exists(state_file):
            # Read the saved state back (before anything could overwrite the file).
            self.state = self._initial_state()
            self._load(state_file)
        else:
            self.reset()

    # -- state --------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.state = self._initial_state()
            self._windows.clear()
            self._daily.clear()
            self._rng = random.Random(self.seed)
            self._persist()

    def _initial_state(self) -> dict[str, Any]:
        config = default_config()
        config.update(self._startup_config)
        return {
            "seed": self.seed,
            "id_counter": 0,
            "seq": 0,
            "config": config,
            "tokens": {self.token: {"location_id": self.location_id, "scopes": list(ALL_SCOPES)}},
            "locations": {
                self.location_id: {
                    "allow_duplicates": False,
                    "duplicate_priority": ["email", "phone"],
                    "company_id": DEFAULT_COMPANY_ID,
                }
            },
            "contacts": {},
            "conversations": {},
            "messages": {},
            "emails": {},
            "deliveries": [],
            "webhooks": [],
            "requests": [],
            "faults": [],
        }

    def _load(self, path: str) -> None:
        with open(path, encoding="utf-8") as handle:
            loaded = json.load(handle)
        with self.lock:
            self.state.update(loaded)
            # The token given at start-up always works, whatever the file says.
            self.state["tokens"].setdefault(self.token, {"location_id": self.location_id, "scopes": list(ALL_SCOPES)})

    def _persist(self) -> None:
        if not self.state_file:
            return
        directory = os.path.dirname(os.path.abspath(self.state_file))
        fd, tmp = tempfile.mkstemp(prefix=".ghl-sandbox-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.state, handle)
        os.replace(tmp, self.state_file)

    def new_id(self, kind: str) -> str:
        """Return a deterministic 20-character alphanumeric id (same seed + order = same ids)."""
        self.state["id_counter"] += 1
        digest = hashlib.sha256(f"{self.seed}:{kind}:{self.state['id_counter']}".encode()).digest()
        number = int.from_bytes(digest, "big")
        chars = []
        for _ in range(20):
            number, index = divmod(number, len(ID_ALPHABET))
            chars.append(ID_ALPHABET[index])
        return "".join(chars)

    def _next_seq(self) -> int:
        self.state["seq"] += 1
        return self.state["seq"]

    @property
    def config(self) -> dict[str, Any]:
        return self.state["config"]

    def public_key_pem(self, kind: str = "ed25519") -> str:
        return public_key_pem(rsa_key(self.seed) if kind == "rsa" else ed25519_key(self.seed))

    # -- API entry point ----------------------------------------------------

    ROUTES: list[tuple[str, re.Pattern[str], str, str]] = [
        ("GET", re.compile(r"^/contacts/search/duplicate/?$"), "contacts.search_duplicate", "contacts.readonly"),
        ("POST", re.compile(r"^/contacts/upsert/?$"), "contacts.upsert", "contacts.write"),
        ("POST", re.compile(r"^/contacts/?$"), "contacts.create", "contacts.write"),
        ("GET", re.compile(r"^/contacts/(?P<id>[^/]+)/?$"), "contacts.get", "contacts.readonly"),
        ("PUT", re.compile(r"^/contacts/(?P<id>[^/]+)/?$"), "contacts.update", "contacts.write"),
        ("GET", re.compile(r"^/conversations/search/?$"), "conversations.search", "conversations.readonly"),
        ("POST", re.compile(r"^/conversations/messages/?$"), "conversations.send", "conversations/message.write"),
        (
            "DELETE",
            re.compile(r"^/conversations/messages/email/(?P<id>[^/]+)/schedule/?$"),
            "conversations.cancel_schedule",
            "conversations/message.write",
        ),
        (
            "GET",
            re.compile(r"^/conversations/messages/email/(?P<id>[^/]+)/?$"),
            "conversations.email",
            "conversations/message.readonly",
        ),
        (
            "GET",
            re.compile(r"^/conversations/messages/(?P<id>[^/]+)/?$"),
            "conversations.message",
            "conversations/message.readonly",
        ),
        (
            "GET",
            re.compile(r"^/conversations/(?P<id>[^/]+)/messages/?$"),
            "conversations.messages",
            "conversations/message.readonly",
        ),
    ]
    # The Version each endpoint declares in the spec, always enforced. The spec
    # declares none for the email read and the schedule cancel; the safer reading
    # is the conversations family's version, which GHL's gateway accepts there.
    ENDPOINT_VERSIONS = {
        "contacts.search_duplicate": "2021-07-28",
        "contacts.upsert": "2021-07-28",
        "contacts.create": "2021-07-28",
        "contacts.get": "2021-07-28",
        "contacts.update": "2021-07-28",
        "conversations.search": "2021-04-15",
        "conversations.send": "2021-04-15",
        "conversations.messages": "2021-04-15",
        "conversations.message": "2021-04-15",
        "conversations.email": "2021-04-15",
        "conversations.cancel_schedule": "2021-04-15",
    }

    def handle_api(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw_body: bytes
    ) -> Outcome:
        """Answer one API request the way GHL would (see module docstring)."""
        lower = {k.lower(): v for k, v in headers.items()}
        trace_id = self._trace_id()
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": query,
            "headers": {k: v for k, v in headers.items() if k.lower() != "authorization"},
            "authorization": "missing",
            "endpoint": None,
            "trace_id": trace_id,
            "at": iso(utcnow()),
        }
        rate_headers: dict[str, str] = {}
        try:
            route = self._route(method, path)
            entry["endpoint"] = route[0] if route else None
            token_info = self._authenticate(lower.get("authorization"), entry)
            rate_headers = self._count_rate(lower.get("authorization", "")[7:], token_info["location_id"])
            self._check_version(lower.get("version"), route[0] if route else None)
            if route is None:
                raise SandboxError(404, f"Cannot {method} {path}", error="Not Found")
            endpoint, scope, params = route
            if scope not in token_info["scopes"]:
                raise unauthorized("The token is not authorized for this scope.")
            body = self._json_body(raw_body) if method in ("POST", "PUT") else None
            entry["json"] = body
            fault = self._take_fault(endpoint)
            outcome = self._apply(fault, endpoint, token_info, params, query, body, trace_id)
        except SandboxError as exc:
            if isinstance(exc, _RateLimitedWithHeaders):
                rate_headers = exc.rate_headers
            body = dict(exc.body)
            body["traceId"] = trace_id
            outcome = Outcome(status=exc.status, body=body)
            if exc.status == 429 and "retry_after" in exc.body:
                retry_after = body.pop("retry_after")
                if retry_after is not None:
                    outcome.headers["Retry-After"] = str(retry_after)
        outcome.headers.update(rate_headers)
        entry["status"] = None if (outcome.hold or outcome.disconnect) else outcome.status
        with self.lock:
            self.state["requests"].append(entry)
            del self.state["requests"][:-500]
            self._persist()
        if self.observers:
            exchange = Exchange(method, path, dict(query), dict(headers), raw_body, entry["endpoint"], outcome)
            for observer in list(self.observers):
                observer(exchange)
        return outcome

    def _trace_id(self) -> str:
        return "%08x-%04x-%04x-%04x-%012x" % tuple(self._rng.getrandbits(b) for b in (32, 16, 16, 16, 48))

    def _route(self, method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
        for route_method, pattern, endpoint, scope in self.ROUTES:
            if route_method != method:
                continue
            match = pattern.match(path)
            if match:
                return endpoint, scope, match.groupdict()
        return None

    def _authenticate(self, authorization: str | None, entry: dict[str, Any]) -> dict[str, Any]:
        if not authorization:
            raise unauthorized("Invalid JWT")
        if not authorization.startswith("Bearer "):
            entry["authorization"] = "not bearer"
            raise unauthorized("Invalid JWT")
        token = authorization[7:]
        info = self.state["tokens"].get(token)
        entry["authorization"] = "Bearer <known token>" if info else "Bearer <unknown token>"
        if info is None:
            raise unauthorized("Invalid token: access token is invalid")
        return info

    def _check_version(self, version: str | None, endpoint: str | None) -> None:
        if not version:
            raise unauthorized("version header was not found.")
        if version not in PUBLISHED_VERSIONS:
            raise unauthorized("version header is invalid")
        expected = self.ENDPOINT_VERSIONS.get(endpoint or "")
        if expected and version != expected:
            raise unauthorized("version header is invalid")

    @staticmethod
    def _json_body(raw: bytes) -> Any:
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise SandboxError(400, "Unexpected token in JSON", error="Bad Request") from None

    # -- rate limits -----------------------------------------------------------

    def _count_rate(self, token: str, location_id: str) -> dict[str, str]:
        """Count this request in the (token, location) windows; raise 429 when over."""
        limits = self.config["rate_limit"]
        key = (token, location_id)
        now = time.monotonic()
        interval = limits["interval_ms"] / 1000.0
        with self.lock:
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - interval:
                window.popleft()
            used_today = self._daily.get(key, 0)
            over = len(window) >= limits["max"] or used_today >= limits["daily"]
            if not over:
                window.append(now)
                used_today += 1
                self._daily[key] = used_today
            headers = {
                "X-RateLimit-Limit-Daily": str(limits["daily"]),
                "X-RateLimit-Daily-Remaining": str(max(0, limits["daily"] - used_today)),
                "X-RateLimit-Interval-Milliseconds": str(limits["interval_ms"]),
                "X-RateLimit-Max": str(limits["max"]),
                "X-RateLimit-Remaining": str(max(0, limits["max"] - len(window))),
            }
            if over:
                retry_after = None
                if limits.get("retry_after_header"):
                    if used_today >= limits["daily"]:
                        retry_after = 3600
                    else:
                        retry_after = max(1, int(window[0] + interval - now + 0.999))
                raise _RateLimitedWithHeaders(retry_after, headers)
        return headers

    # -- faults -------------------------------------------------------------------

    def add_fault(self, spec: dict[str, Any]) -> dict[str, Any]:
        mode = spec.get("mode")
        if mode not in FAULT_MODES:
            raise SandboxError(400, f"fault mode must be one of {sorted(FAULT_MODES)}")
        endpoints = spec.get("endpoints") or [spec.get("endpoint") or "*"]
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        unknown = [e for e in endpoints if e != "*" and e not in ENDPOINTS]
        if unknown:
            raise SandboxError(400, f"unknown endpoint(s) {unknown}; known: {sorted(ENDPOINTS)}")
        count = spec.get("count")
        probability = spec.get("probability")
        if probability is not None and not 0 <= float(probability) <= 1:
            raise SandboxError(400, "probability must be between 0 and 1")
        fault = {
            "id": f"fault-{len(self.state['faults']) + 1}-{self._next_seq()}",
            "endpoints": list(endpoints),
            "mode": mode,
            "status": int(spec.get("status", 500 if mode != "rate_limit" else 429)),
            "delay": float(spec.get("delay", 30.0 if mode == "timeout" else 0.0)),
            # For a send: record (deliver) the email although the answer fails - the ambiguous case.
            "deliver": bool(spec.get("deliver", False)),
            "remaining": None if count is None else int(count),
            "skip": int(spec.get("skip", 0)),
            "probability": None if probability is None else float(probability),
            "retry_after": spec.get("retry_after"),
            "message": spec.get("message"),
            "hits": 0,
        }
        with self.lock:
            self.state["faults"].append(fault)
            self._persist()
        return fault

    def _take_fault(self, endpoint: str) -> dict[str, Any] | None:
        with self.lock:
            for fault in self.state["faults"]:
                if "*" not in fault["endpoints"] and endpoint not in fault["endpoints"]:
                    continue
                if fault["remaining"] is not None and fault["remaining"] <= 0:
                    continue
                if fault.get("skip"):
                    # Let the first `skip` matching calls through: "page 3 fails" is skip=2.
                    fault["skip"] -= 1
                    continue
                if fault["probability"] is not None and self._rng.random() >= fault["probability"]:
                    continue
                if fault["remaining"] is not None:
                    fault["remaining"] -= 1
                fault["hits"] += 1
                return dict(fault)
        return None

    def _apply(
        self,
        fault: dict[str, Any] | None,
        endpoint: str,
        token_info: dict[str, Any],
        params: dict[str, str],
        query: dict[str, str],
        body: Any,
        trace_id: str,
    ) -> Outcome:
        def run() -> Outcome:
            handler = getattr(self, "api_" + endpoint.replace(".", "_"))
            with self.lock:
                status, payload = handler(location_id=token_info["location_id"], params=params, query=query, body=body)
                self._persist()
            payload = dict(payload)
            payload.setdefault("traceId", trace_id)
            return Outcome(status=status, body=payload)

        if fault is None:
            return run()
        mode = fault["mode"]
        if mode == "latency":
            outcome = run()
            outcome.delay = fault["delay"]
            return outcome
        if mode == "rate_limit":
            raise SandboxError(429, fault["message"] or "Too Many Requests", retry_after=fault["retry_after"])
        if fault["deliver"]:
            try:
                run()
            except SandboxError:
                pass  # the business outcome stands; the answer is the fault's
        if mode == "error":
            status = fault["status"]
            message = fault["message"] or ("Internal server error" if status >= 500 else "Bad Request")
            raise SandboxError(status, message)
        if mode == "timeout":
            return Outcome(hold=fault["delay"])
        return Outcome(disconnect=True)

    # -- contacts ---------------------------------------------------------------

    def _check_location(self, requested: str | None, location_id: str) -> None:
        if not requested:
            raise unprocessable("locationId should not be empty", "locationId must be a string")
        if requested != location_id:
            raise SandboxError(403, "The token does not have access to this location.", error="Forbidden")

    def _contacts_of(self, location_id: str) -> list[dict[str, Any]]:
        return [c for c in self.state["contacts"].values() if c["locationId"] == location_id]

    def _match_contact(self, location_id: str, email: str | None, phone: str | None) -> tuple[dict | None, str]:
        settings = self.state["locations"].get(location_id, {})
        for field_name in settings.get("duplicate_priority", ["email", "phone"]):
            value = email if field_name == "email" else phone
            if not value:
                continue
            for contact in sorted(self._contacts_of(location_id), key=lambda c: c["_seq"]):
                if field_name == "email" and (contact.get("emailLowerCase") or "") == value.lower():
                    return contact, "email"
                if field_name == "phone" and contact.get("phone") == value:
                    return contact, "phone"
        return None, ""

    @staticmethod
    def public_contact(contact: dict[str, Any]) -> dict[str, Any]:
        # The spec types these fields as strings, never null: an unset field is left out.
        return {k: v for k, v in contact.items() if not k.startswith("_") and v is not None}

    def _validate_contact_body(self, body: Any, *, creating: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise unprocessable("body must be an object")
        problems = [f"property {key} should not exist" for key in body if key not in CONTACT_FIELDS]
        email = body.get("email")
        if email is not None and (not isinstance(email, str) or not EMAIL_RE.match(email)):
            problems.append("email must be an email")
        if "tags" in body and not isinstance(body["tags"], list):
            problems.append("tags must be an array")
        if problems:
            raise unprocessable(*problems)
        return body

    def _new_contact(self, location_id: str, body: dict[str, Any]) -> dict[str, Any]:
        now = iso(utcnow())
        contact: dict[str, Any] = {
            "id": self.new_id("contact"),
            "locationId": location_id,
            "email": None,
            "emailLowerCase": None,
            "phone": None,
            "firstName": None,
            "lastName": None,
            "name": None,
            "companyName": None,
            "source": None,
            "tags": [],
            "customFields": [],
            "dnd": False,
            "dndSettings": {},
            "type": "lead",
            "dateAdded": now,
            "dateUpdated": now,
            "_seq": self._next_seq(),
            "_unsubscribed": False,
        }
        self._apply_contact_fields(contact, body)
        self.state["contacts"][contact["id"]] = contact
        return contact

    def _apply_contact_fields(self, contact: dict[str, Any], body: dict[str, Any]) -> None:
        for key in ("email", "phone", "firstName", "lastName", "companyName", "source", "customFields", "timezone"):
            if key in body:
                contact[key] = body[key]
        if "email" in body:
            contact["emailLowerCase"] = (body["email"] or "").lower() or None
        if "tags" in body:
            contact["tags"] = list(body["tags"])  # GHL replaces all tags
        if "dnd" in body:
            if not body["dnd"] and any(s.get("status") == "permanent" for s in contact["dndSettings"].values()):
                raise SandboxError(400, f"Not authorized to update permanent dnd setting for {contact['id']}")
            contact["dnd"] = bool(body["dnd"])
        for channel, setting in (body.get("dndSettings") or {}).items():
            current = contact["dndSettings"].get(channel, {})
            if current.get("status") == "permanent" and setting.get("status") != "permanent":
                raise SandboxError(400, f"Not authorized to update permanent dnd setting for {contact['id']}")
            contact["dndSettings"][channel] = {k: v for k, v in setting.items() if k in ("status", "message", "code")}
        name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
        contact["name"] = body.get("name") or name or contact.get("name")
        contact["dateUpdated"] = iso(utcnow())

    def api_contacts_search_duplicate(self, *, location_id, params, query, body):
        self._check_location(query.get("locationId"), location_id)
        contact, _ = self._match_contact(location_id, query.get("email"), query.get("number"))
        return 200, {"contact": self.public_contact(contact) if contact else None}

    def api_contacts_upsert(self, *, location_id, params, query, body):
        body = self._validate_contact_body(body, creating=True)
        self._check_location(body.get("locationId"), location_id)
        location = self.state["locations"][location_id]
        contact, _ = self._match_contact(location_id, body.get("email"), body.get("phone"))
        if contact is not None and not (location["allow_duplicates"] and body.get("createNewIfDuplicateAllowed")):
            self._apply_contact_fields(contact, body)
            return 200, {"new": False, "contact": self.public_contact(contact)}
        contact = self._new_contact(location_id, body)
        return 200, {"new": True, "contact": self.public_contact(contact)}

    def api_contacts_create(self, *, location_id, params, query, body):
        body = self._validate_contact_body(body, creating=True)
        self._check_location(body.get("locationId"), location_id)
        location = self.state["locations"][location_id]
        contact, matched_on = self._match_contact(location_id, body.get("email"), body.get("phone"))
        if contact is not None and not location["allow_duplicates"]:
            raise SandboxError(
                400,
                "This location does not allow duplicated contacts.",
                meta={"contactId": contact["id"], "contactName": contact.get("name"), "matchingField": matched_on},
            )
        contact = self._new_contact(location_id, body)
        return 201, {"contact": self.public_contact(contact)}

    def _contact(self, contact_id: str, location_id: str) -> dict[str, Any]:
        contact = self.state["contacts"].get(contact_id)
        if contact is None or contact["locationId"] != location_id:
            raise SandboxError(400, f"Contact with id {contact_id} not found")
        return contact

    def api_contacts_get(self, *, location_id, params, query, body):
        return 200, {"contact": self.public_contact(self._contact(params["id"], location_id))}

    def api_contacts_update(self, *, location_id, params, query, body):
        contact = self._contact(params["id"], location_id)
        body = self._validate_contact_body(body, creating=False)
        if "locationId" in body:
            raise unprocessable("property locationId should not exist")
        self._apply_contact_fields(contact, body)
        return 200, {"succeded": True, "contact": self.public_contact(contact)}

    # -- conversations ------------------------------------------------------------

    def _conversation_for(self, contact: dict[str, Any]) -> dict[str, Any]:
        for conversation in self.state["conversations"].values():
            if conversation["contactId"] == contact["id"]:
                return conversation
        now = iso(utcnow())
        conversation = {
            "id": self.new_id("conversation"),
            "contactId": contact["id"],
            "locationId": contact["locationId"],
            "fullName": contact.get("name") or "",
            "contactName": contact.get("name") or "",
            "email": contact.get("email") or "",
            "phone": contact.get("phone") or "",
            "type": "TYPE_PHONE",
            "unreadCount": 0,
            "lastMessageType": None,
            "lastMessageBody": "",
            "lastMessageDirection": None,
            "dateAdded": now,
            "dateUpdated": now,
            "lastMessageDate": None,
        }
        self.state["conversations"][conversation["id"]] = conversation
        return conversation

    def api_conversations_search(self, *, location_id, params, query, body):
        self._check_location(query.get("locationId"), location_id)
        found = [
            c
            for c in self.state["conversations"].values()
            if c["locationId"] == location_id and (not query.get("contactId") or c["contactId"] == query["contactId"])
        ]
        found.sort(key=lambda c: c["dateUpdated"], reverse=True)
        return 200, {"conversations": [without_nulls(c) for c in found], "total": len(found)}

    def api_conversations_send(self, *, location_id, params, query, body):
        if not isinstance(body, dict):
            raise unprocessable("body must be an object")
        problems = [f"property {key} should not exist" for key in body if key not in SEND_FIELDS]
        if body.get("type") not in SEND_TYPES:
            problems.append("type must be one of the following values: " + ", ".join(SEND_TYPES))
        if not isinstance(body.get("contactId"), str) or not body.get("contactId"):
            problems += ["contactId must be a string", "contactId should not be empty"]
        if problems:
            raise unprocessable(*problems)
        contact = self._contact(body["contactId"], location_id)
        if body["type"] != "Email":
            raise SandboxError(400, f"The sandbox only emulates Email sends, not {body['type']}")
        problems = []
        if not isinstance(body.get("subject"), str) or not body["subject"].strip():
            problems.append("subject should not be empty")
        if not (body.get("html") or body.get("message") or body.get("templateId")):
            problems.append("html or message should not be empty")
        email_from = body.get("emailFrom")
        if email_from is not None and (not isinstance(email_from, str) or not EMAIL_RE.match(email_from)):
            problems.append("emailFrom must be an email")
        if problems:
            raise unprocessable(*problems)
        email_dnd = (contact["dndSettings"].get("Email") or {}).get("status")
        if contact["dnd"] or email_dnd in ("active", "permanent"):
            raise SandboxError(400, "Cannot send message as DND is active for Email.")
        if contact.get("_unsubscribed"):
            raise SandboxError(400, f"Cannot send email as {contact.get('email')} has unsubscribed")
        if not contact.get("email") or not EMAIL_RE.match(contact["email"]):
            raise SandboxError(400, "Unable to send e-mail, contact's e-mail is invalid")

        now = utcnow()
        scheduled = body.get("scheduledTimestamp")
        scheduled_at = None
        if scheduled:
            scheduled_at = datetime.fromtimestamp(float(scheduled), tz=timezone.utc)
            if scheduled_at <= now:
                scheduled_at = None
        status = "scheduled" if scheduled_at else "sent"
        conversation = self._conversation_for(contact)
        message_id = self.new_id("message")
        email_id = self.new_id("email")
        thread_id = email_id
        reply_to = body.get("replyMessageId") or body.get("threadId")
        if reply_to:
            for email in self.state["emails"].values():
                if reply_to in (email["id"], email["messageId"]):
                    thread_id = email["threadId"]
        html = body.get("html") or ""
        text = body.get("message") or ""
        seq = self._next_seq()
        message = {
            "id": message_id,
            "type": 3,
            "messageType": "TYPE_EMAIL",
            "conversationId": conversation["id"],
            "contactId": contact["id"],
            "locationId": location_id,
            "dateAdded": iso(now),
            "direction": "outbound",
            "status": status,
            "source": "api",
            "contentType": "text/html" if html else "text/plain",
            "meta": {"email": {"messageIds": [email_id]}},
            "_seq": seq,
            "_body": html or text,
        }
        email = {
            "id": email_id,
            "messageId": message_id,
            "threadId": thread_id,
            "conversationId": conversation["id"],
            "contactId": contact["id"],
            "locationId": location_id,
            "dateAdded": iso(now),
            "subject": body["subject"],
            "body": html or text,
            "altText": text,
            "from": email_from or SENDER_EMAIL,
            "to": [body.get("emailTo") or contact["email"]],
            "cc": list(body.get("emailCc") or []),
            "bcc": list(body.get("emailBcc") or []),
            "direction": "outbound",
            "status": status,
            "contentType": "text/html" if html else "text/plain",
            "provider": "mailgun",
            "source": "api",
            "replyToMessageId": body.get("replyMessageId"),
        }
        self.state["messages"][message_id] = message
        self.state["emails"][email_id] = email
        conversation.update(
            lastMessageType="TYPE_EMAIL",
            lastMessageBody=body["subject"],
            lastMessageDirection="outbound",
            dateUpdated=iso(now),
            lastMessageDate=iso(now),
        )
        self.state["deliveries"].append(
            {
                "seq": seq,
                "at": iso(now),
                "location_id": location_id,
                "contact_id": contact["id"],
                "contact_email": contact["email"],
                "to": email["to"],
                "from": email["from"],
                "subject": body["subject"],
                "html": html,
                "text": text,
                "conversation_id": conversation["id"],
                "message_id": message_id,
                "email_message_id": email_id,
                "status": status,
                "scheduled_for": iso(scheduled_at) if scheduled_at else None,
            }
        )
        if self.config.get("webhook_url") and not scheduled_at:
            self._schedule_auto_events(message_id)
        return 200, {
            "conversationId": conversation["id"],
            "messageId": message_id,
            "emailMessageId": email_id,
            # The spec's send statuses are delivered/failed/pending/read: a fresh send is pending.
            "status": "pending",
            "msg": "Message queued successfully." if not scheduled_at else "Message scheduled successfully.",
        }

    def api_conversations_cancel_schedule(self, *, location_id, params, query, body):
        email = self.state["emails"].get(params["id"])
        if email is None or email["locationId"] != location_id:
            raise SandboxError(404, "Email message not found", error="Not Found")
        if email["status"] != "scheduled":
            raise SandboxError(400, "Message is not scheduled")
        # GHL documents no "cancelled" status for a message or an email; "undelivered" is the documented one that fits.
        self._set_status(email["messageId"], "undelivered")
        for delivery in self.state["deliveries"]:
            if delivery["email_message_id"] == email["id"]:
                delivery["status"] = "cancelled"
        return 200, {"status": 200, "message": "Scheduled email cancelled"}

    def _public_message(self, message: dict[str, Any], *, with_body: bool) -> dict[str, Any]:
        data = {k: v for k, v in message.items() if not k.startswith("_") and v is not None}
        if with_body:
            data["body"] = message.get("_body", "")
        return data

    def api_conversations_messages(self, *, location_id, params, query, body):
        conversation = self.state["conversations"].get(params["id"])
        if conversation is None or conversation["locationId"] != location_id:
            raise SandboxError(400, f"Conversation with id {params['id']} not found")
        wanted = {t for t in (query.get("type") or "").split(",") if t}
        items = [
            m
            for m in self.state["messages"].values()
            if m["conversationId"] == conversation["id"] and (not wanted or m["messageType"] in wanted)
        ]
        items.sort(key=lambda m: m["_seq"], reverse=True)  # newest first, like GHL
        if query.get("lastMessageId"):
            ids = [m["id"] for m in items]
            if query["lastMessageId"] in ids:
                items = items[ids.index(query["lastMessageId"]) + 1 :]
        limit = int(query.get("limit") or self.config["messages_page_size"])
        page, rest = items[:limit], items[limit:]
        # Email bodies are not part of the list (GHL issue #40).
        listed = [self._public_message(m, with_body=False) for m in page]
        listing = {"lastMessageId": page[-1]["id"] if page else "", "nextPage": bool(rest), "messages": listed}
        if self.config.get("messages_list_shape") == "nested":
            return 200, {"messages": listing}
        return 200, listing

    def api_conversations_message(self, *, location_id, params, query, body):
        message = self.state["messages"].get(params["id"])
        if message is None or message["locationId"] != location_id:
            raise SandboxError(404, "Message not found", error="Not Found")
        data = self._public_message(message, with_body=True)
        return 200, ({"message": data} if self.config.get("message_shape") == "wrapped" else data)

    def api_conversations_email(self, *, location_id, params, query, body):
        email = self.state["emails"].get(params["id"])
        if email is None or email["locationId"] != location_id:
            raise SandboxError(404, "Email message not found", error="Not Found")
        data = without_nulls(email)
        return 200, ({"emailMessage": data} if self.config.get("email_shape") == "wrapped" else data)

    def _set_status(self, message_id: str, status: str) -> None:
        message = self.state["messages"].get(message_id)
        if message is None:
            return
        message["status"] = status
        for email_id in message["meta"]["email"]["messageIds"]:
            if email_id in self.state["emails"]:
                self.state["emails"][email_id]["status"] = EMAIL_STATUS.get(status, status)
        for delivery in self.state["deliveries"]:
            if delivery["message_id"] == message_id:
                delivery["status"] = status

    # -- control API ----------------------------------------------------------------

    def handle_control(self, method: str, path: str, query: dict[str, str], raw_body: bytes) -> Outcome:
        """Answer /_sandbox/... requests: the operator's and the tests' remote control."""
        try:
            body = self._json_body(raw_body) if raw_body else {}
            status, payload = self._control(method, path[len("/_sandbox") :].rstrip("/") or "/", query, body)
            return Outcome(status=status, body=payload)
        except SandboxError as exc:
            return Outcome(status=exc.status, body={"error": exc.body["message"]})
        except (KeyError, TypeError, ValueError) as exc:
            return Outcome(status=400, body={"error": f"bad control request: {type(exc).__name__}: {exc}"})

    def _control(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        key = (method, parts[0] if parts else "")
        with self.lock:
            if key == ("GET", "health"):
                return 200, {
                    "ok": True,
                    "location_id": self.location_id,
                    "ed25519_public_key": self.public_key_pem("ed25519"),
                }
            if key == ("POST", "reset"):
                self.reset()
                return 200, {"ok": True}
            if key == ("GET", "state"):
                return 200, self.state
            if key in (("GET", "config"), ("POST", "config")):
                if method == "POST":
                    self._update_config(body)
                return 200, {"config": self.config, "locations": self.state["locations"]}
            if key == ("POST", "tokens"):
                self.state["tokens"][body["token"]] = {
                    "location_id": body.get("location_id", self.location_id),
                    "scopes": list(body.get("scopes", ALL_SCOPES)),
                }
                location = body.get("location_id", self.location_id)
                self.state["locations"].setdefault(
                    location,
                    {"allow_duplicates": False, "duplicate_priority": ["email", "phone"], "company_id": DEFAULT_COMPANY_ID},
                )
                self._persist()
                return 201, {"ok": True}
            if key == ("GET", "faults"):
                return 200, {"faults": self.state["faults"]}
            if key == ("POST", "faults"):
                return 201, self.add_fault(body)
            if key == ("DELETE", "faults"):
                self.state["faults"] = []
                self._persist()
                return 200, {"ok": True}
            if key == ("GET", "contacts"):
                return 200, {"contacts": [self._control_contact(c) for c in self.state["contacts"].values()]}
            if key == ("POST", "contacts") and len(parts) == 1:
                return 201, {"contact": self._control_contact(self.control_add_contact(body))}
            if key == ("POST", "contacts") and len(parts) == 3 and parts[2] == "dnd":
                return 200, {"contact": self._control_contact(self.control_set_dnd(parts[1], body))}
            if key == ("POST", "contacts") and len(parts) == 3 and parts[2] == "unsubscribe":
                return 200, {"contact": self._control_contact(self.control_unsubscribe(parts[1], body))}
            if key == ("GET", "deliveries"):
                deliveries = self.state["deliveries"]
                if query.get("contact_email"):
                    deliveries = [d for d in deliveries if d["contact_email"].lower() == query["contact_email"].lower()]
                return 200, {"deliveries": deliveries}
            if key == ("GET", "requests"):
                return 200, {"requests": self.state["requests"]}
            if key == ("DELETE", "requests"):
                self.state["requests"] = []
                return 200, {"ok": True}
            if key == ("GET", "webhooks"):
                return 200, {"webhooks": self.state["webhooks"]}
        # Deliveries run outside the lock: the app may call back into the sandbox.
        if key == ("POST", "webhooks") and len(parts) == 2 and parts[1] == "trigger":
            return 200, self.trigger(body)
        if key == ("POST", "webhooks") and len(parts) == 2 and parts[1] == "replay":
            return 200, self.replay(body["webhook_id"], url=body.get("url"))
        if key == ("POST", "webhooks") and len(parts) == 2 and parts[1] == "wait":
            self.wait_for_outbox(float(body.get("timeout", 10)))
            return 200, {"ok": True}
        raise SandboxError(404, f"no control endpoint {method} /_sandbox{path}")

    def _update_config(self, body: dict[str, Any]) -> None:
        for name, value in body.items():
            if name == "rate_limit":
                unknown = set(value) - set(self.config["rate_limit"])
                if unknown:
                    raise SandboxError(400, f"unknown rate_limit keys {sorted(unknown)}")
                self.config["rate_limit"].update(value)
                self._windows.clear()
                self._daily.clear()
            elif name == "location":
                location = self.state["locations"][value.pop("id", self.location_id)]
                location.update(value)
            elif name in self.config:
                if name == "webhook_url" and value:
                    _require_loopback(value)
                self.config[name] = value
            else:
                raise SandboxError(400, f"unknown config key {name!r}; known: {sorted(self.config)} + location")
        self._persist()

    def _control_contact(self, contact: dict[str, Any]) -> dict[str, Any]:
        data = self.public_contact(contact)
        data["unsubscribed"] = bool(contact.get("_unsubscribed"))
        return data

    def control_add_contact(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a contact directly (fixtures): any email, even an invalid one, plus dnd/unsubscribed."""
        location_id = body.pop("locationId", self.location_id)
        unsubscribed = bool(body.pop("unsubscribed", False))
        contact = self._new_contact(location_id, {})
        for key, value in body.items():
            contact[key] = value
        contact["emailLowerCase"] = (contact.get("email") or "").lower() or None
        contact["_unsubscribed"] = unsubscribed
        self._persist()
        return contact

    def control_set_dnd(self, contact_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Set a contact's Email DND as an operator would in the GHL UI (may lift a permanent one)."""
        contact = self.state["contacts"].get(contact_id)
        if contact is None:
            raise SandboxError(404, f"no contact {contact_id}")
        channel = body.get("channel", "Email")
        if "status" in body:
            contact["dndSettings"][channel] = {
                "status": body["status"],
                "message": body.get("message", "Updated from the sandbox control API"),
                "code": body.get("code", "manual"),
            }
        if "dnd" in body:
            contact["dnd"] = bool(body["dnd"])
        contact["dateUpdated"] = iso(utcnow())
        self._persist()
        if body.get("emit"):
            self._start_delivery(self.build_event({"event": "ContactDndUpdate", "contact_id": contact_id}))
        return contact

    def control_unsubscribe(self, contact_id: str, body: dict[str, Any]) -> dict[str, Any]:
        contact = self.state["contacts"].get(contact_id)
        if contact is None:
            raise SandboxError(404, f"no contact {contact_id}")
        contact["_unsubscribed"] = True
        self._persist()
        return contact

    # -- webhooks -------------------------------------------------------------------------

    def _envelope(self, event_type: str, location_id: str) -> dict[str, Any]:
        return {
            "type": event_type,
            "locationId": location_id,
            "appId": "sandboxApp00000000001",
            "versionId": "sandboxVersion000001",
            "timestamp": iso(utcnow()),
            "webhookId": self.new_id("webhook"),
        }

    def _find_message(self, spec: dict[str, Any]) -> dict[str, Any]:
        if spec.get("message_id"):
            message = self.state["messages"].get(spec["message_id"])
        elif spec.get("email_message_id"):
            email = self.state["emails"].get(spec["email_message_id"])
            message = self.state["messages"].get(email["messageId"]) if email else None
        else:
            outbound = [m for m in self.state["messages"].values() if m["direction"] == "outbound"]
            if spec.get("contact_id"):
                # The contact's latest email, never another contact's: a reply must come from whom it names.
                outbound = [m for m in outbound if m["contactId"] == spec["contact_id"]]
                if not outbound:
                    raise SandboxError(404, f"no email was sent to contact {spec['contact_id']!r}")
            message = max(outbound, key=lambda m: m["_seq"]) if outbound else None
        if message is None:
            raise SandboxError(404, "no such message (give message_id, email_message_id or contact_id)")
        return message

    def build_event(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """Return the delivery payloads for one triggered event (an unsubscribe also yields ContactDndUpdate).

        spec: {"event": OutboundMessage | InboundMessage | ContactDndUpdate | accepted | delivered | opened |
        clicked | failed | complained | unsubscribed | rejected, "message_id" | "email_message_id" | "contact_id",
        "severity" (failed), "url" (clicked), "body"/"subject" (InboundMessage)}
        """
        with self.lock:
            event = spec.get("event") or spec.get("type")
            if event == "ContactDndUpdate":
                contact = self.state["contacts"].get(spec.get("contact_id", ""))
                if contact is None:
                    raise SandboxError(404, "ContactDndUpdate needs an existing contact_id")
                return [self._dnd_payload(contact)]
            message = self._find_message(spec)
            email = self.state["emails"][message["meta"]["email"]["messageIds"][0]]
            contact = self.state["contacts"][message["contactId"]]
            if event == "OutboundMessage":
                payload = self._envelope("OutboundMessage", message["locationId"])
                payload.update(
                    messageId=message["id"],
                    conversationId=message["conversationId"],
                    contactId=message["contactId"],
                    messageType="Email",
                    messageTypeId=3,
                    messageTypeString="TYPE_EMAIL",
                    emailMessageId=email["id"],
                    threadId=email["threadId"],
                    **{"from": email["from"]},
                    to=email["to"],
                    subject=email["subject"],
                    body=email["body"],
                    direction="outbound",
                    status=message["status"],
                    source="api",
                    dateAdded=message["dateAdded"],
                    conversationProviderId=None,
                )
                return [payload]
            if event == "InboundMessage":
                return [self._reply(message, email, contact, spec)]
            if event in ("accepted", "delivered", "opened", "clicked", "failed", "complained", "unsubscribed", "rejected"):
                payloads = [self._email_stats(event, message, email, contact, spec)]
                if event == "unsubscribed":
                    contact["dndSettings"]["Email"] = {
                        "status": "active",
                        "message": "Contact unsubscribed via email link",
                        "code": "unsubscribed",
                    }
                    contact["_unsubscribed"] = True
                    payloads.append(self._dnd_payload(contact))
                self._persist()
                return payloads
        raise SandboxError(400, f"unknown event {event!r}")

    def _dnd_payload(self, contact: dict[str, Any]) -> dict[str, Any]:
        # The contact's own fields, then the envelope: the contact's "type" ("lead") must not replace the event type.
        payload = {k: v for k, v in self.public_contact(contact).items() if k not in ("emailLowerCase", "type")}
        payload.update(self._envelope("ContactDndUpdate", contact["locationId"]))
        return payload

    def _email_stats(self, event, message, email, contact, spec) -> dict[str, Any]:
        location = self.state["locations"].get(message["locationId"], {})
        company_id = location.get("company_id", DEFAULT_COMPANY_ID)
        recipient = email["to"][0]
        payload = self._envelope("LCEmailStats", message["locationId"])
        payload["companyId"] = company_id
        stats: dict[str, Any] = {
            "event": event,
            "id": self.new_id("mailgunEvent"),
            "timestamp": round(time.time(), 3),
            "recipient": recipient,
            "recipient-domain": recipient.split("@")[-1],
            "message": {
                "headers": {
                    "message-id": f"{email['id']}@sandbox.mailgun.example",
                    "from": email["from"],
                    "to": recipient,
                    "subject": email["subject"],
                }
            },
            "delivery-status": {"code": 250, "message": "OK", "description": "", "attempt-no": 1},
            "envelope": {"sender": email["from"], "targets": recipient, "transport": "smtp"},
            "tags": [f"loc_{message['locationId']}", f"com_{company_id}"],
            "flags": {"is-authenticated": True, "is-test-mode": False},
            "log-level": "info",
            "lc-operations": {
                "email_message_id": email["id"],
                "message_id": message["id"],
                "contact_id": contact["id"],
                "location_id": message["locationId"],
            },
        }
        if event == "clicked":
            stats["url"] = spec.get("url", "https://example.com/")
        if event == "failed":
            severity = spec.get("severity", "permanent")
            stats["severity"] = severity
            stats["reason"] = spec.get("reason", "bounce" if severity == "permanent" else "generic")
            stats["log-level"] = "error" if severity == "permanent" else "warn"
            stats["delivery-status"] = {
                "code": 550 if severity == "permanent" else 421,
                "message": "mailbox unavailable" if severity == "permanent" else "try again later",
                "description": "",
                "attempt-no": 1,
            }
            self._set_status(message["id"], "failed" if severity == "permanent" else "undelivered")
        elif STATS_STATUS.get(event):
            self._set_status(message["id"], STATS_STATUS[event])
        if event in ("complained", "unsubscribed"):
            stats["log-level"] = "warn"
        payload["webhookPayload"] = stats
        return payload

    def _reply(self, message, email, contact, spec) -> dict[str, Any]:
        now = utcnow()
        reply_message_id = self.new_id("message")
        reply_email_id = self.new_id("email")
        subject = spec.get("subject") or f"Re: {email['subject']}"
        body = spec.get("body") or "<p>Thanks, tell me more.</p>"
        self.state["messages"][reply_message_id] = {
            "id": reply_message_id,
            "type": 3,
            "messageType": "TYPE_EMAIL",
            "conversationId": message["conversationId"],
            "contactId": contact["id"],
            "locationId": message["locationId"],
            "dateAdded": iso(now),
            "direction": "inbound",
            "status": "delivered",
            "source": "app",
            "contentType": "text/html",
            "meta": {"email": {"messageIds": [reply_email_id]}},
            "_seq": self._next_seq(),
            "_body": body,
        }
        self.state["emails"][reply_email_id] = {
            "id": reply_email_id,
            "messageId": reply_message_id,
            "threadId": email["threadId"],
            "conversationId": message["conversationId"],
            "contactId": contact["id"],
            "locationId": message["locationId"],
            "dateAdded": iso(now),
            "subject": subject,
            "body": body,
            "altText": "",
            "from": contact["email"],
            "to": [email["from"]],
            "cc": [],
            "bcc": [],
            "direction": "inbound",
            "status": "delivered",
            "contentType": "text/html",
            "provider": "mailgun",
            "source": "app",
            "replyToMessageId": email["id"],
        }
        payload = self._envelope("InboundMessage", message["locationId"])
        payload.update(
            messageType="Email",
            direction="inbound",
            conversationId=message["conversationId"],
            contactId=contact["id"],
            messageId=reply_message_id,
            emailMessageId=reply_email_id,
            threadId=email["threadId"],
            **{"from": contact["email"]},
            to=[email["from"]],
            cc=[],
            bcc=[],
            subject=subject,
            body=body,
            provider="mailgun",
            dateAdded=iso(now),
        )
        self._persist()
        return payload

    def trigger(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Build and deliver one event; synchronous unless spec["sync"] is false.

        Delivery switches: "signature": good|bad|missing, "rsa": also send x-wh-signature,
        "rsa_only": only x-wh-signature, "timestamp_offset_seconds": shift the timestamp
        (e.g. -3600 for a stale delivery), "webhook_id": reuse an id (duplicate),
        "url": deliver elsewhere than config webhook_url.
        """
        payloads = self.build_event(spec)
        for payload in payloads:
            if spec.get("timestamp_offset_seconds"):
                payload["timestamp"] = iso(utcnow() + timedelta(seconds=float(spec["timestamp_offset_seconds"])))
            if spec.get("webhook_id"):
                payload["webhookId"] = spec["webhook_id"]
        options = {k: spec[k] for k in ("signature", "rsa", "rsa_only", "url") if k in spec}
        if spec.get("sync", True):
            records = [self.deliver(payload, **options) for payload in payloads]
        else:
            self._start_delivery(payloads, **options)
            records = []
        return {"payloads": payloads, "deliveries": records}

    def replay(self, webhook_id: str, *, url: str | None = None) -> dict[str, Any]:
        """Deliver an earlier delivery again, byte for byte (same webhookId): a duplicate."""
        with self.lock:
            previous = [w for w in self.state["webhooks"] if w["webhook_id"] == webhook_id]
        if not previous:
            raise SandboxError(404, f"no delivery with webhookId {webhook_id}")
        record = previous[0]
        return self._post(url or record["url"], record["body"].encode("utf-8"), dict(record["headers"]), record["payload"])

    def deliver(
        self,
        payload: dict[str, Any],
        *,
        signature: str = "good",
        rsa: bool | None = None,
        rsa_only: bool = False,
        url: str | None = None,
    ) -> dict[str, Any]:
        """Sign and POST one payload to the app, retrying only on a 429 answer (like GHL)."""
        target = url or self.config.get("webhook_url")
        if not target:
            raise SandboxError(400, "no webhook_url configured (POST /_sandbox/config {\"webhook_url\": ...})")
        _require_loopback(target)
        body = compact_json(payload)
        use_rsa = rsa_only or (self.config.get("sign_rsa") if rsa is None else rsa)
        if use_rsa:
            self.signer.rsa_key = rsa_key(self.seed)
        headers = {"Content-Type": "application/json", "User-Agent": "GHL-Sandbox-Webhooks/1.0"}
        if signature not in ("good", "bad", "missing"):
            raise SandboxError(400, "signature must be good, bad or missing")
        if signature != "missing":
            # "bad" is a well-formed signature of different bytes.
            signed = body if signature == "good" else body + b" "
            use_ed25519 = not rsa_only and bool(self.config.get("sign_ed25519", True))
            headers.update(self.signer.headers(signed, ed25519=use_ed25519, rsa=bool(use_rsa)))
        return self._post(target, body, headers, payload)

    def _post(self, url: str, body: bytes, headers: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        record = {
            "webhook_id": payload.get("webhookId"),
            "type": payload.get("type"),
            "url": url,
            "payload": payload,
            "body": body.decode("utf-8"),
            "headers": headers,
            "attempts": [],
            "final_status": None,
        }
        retries = int(self.config.get("webhook_max_retries", 6))
        interval = float(self.config.get("webhook_retry_interval", 600.0))
        for attempt in range(retries + 1):
            status, error = self._post_once(url, body, headers)
            record["attempts"].append({"at": iso(utcnow()), "status": status, "error": error})
            record["final_status"] = status
            # GHL redelivers only when the receiver answers 429; any other answer (5xx too) is final.
            if status != 429 or attempt == retries:
                break
            if self.stop_event.wait(interval * random.uniform(0.9, 1.1)):
                break
        with self.lock:
            self.state["webhooks"].append(record)
            self._persist()
        return record

    def _post_once(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=float(self.config.get("webhook_timeout", 5.0))) as response:
                response.read()
                return response.status, None
        except urllib.error.HTTPError as exc:
            return exc.code, None
        except (urllib.error.URLError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def _schedule_auto_events(self, message_id: str) -> None:
        specs = [{"event": name, "message_id": message_id} for name in self.config.get("auto_events") or []]
        if not specs:
            return

        def run() -> None:
            for spec in specs:
                if self.stop_event.is_set():
                    return
                try:
                    for payload in self.build_event(spec):
                        self.deliver(payload)
                except SandboxError as exc:
                    logger.warning("sandbox auto event %s failed: %s", spec["event"], exc)

        self._spawn(run)

    def _start_delivery(self, payloads: list[dict[str, Any]], **options: Any) -> None:
        def run() -> None:
            for payload in payloads:
                try:
                    self.deliver(payload, **options)
                except SandboxError as exc:
                    logger.warning("sandbox delivery failed: %s", exc)

        self._spawn(run)

    def _spawn(self, target) -> None:
        thread = threading.Thread(target=target, name="ghl-sandbox-webhooks", daemon=True)
        with self.lock:
            self._outbox = [t for t in self._outbox if t.is_alive()]
            self._outbox.append(thread)
        thread.start()

    def wait_for_outbox(self, timeout: float = 10.0) -> None:
        """Wait until queued webhook deliveries are done (tests)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._outbox):
            thread.join(max(0.0, deadline - time.monotonic()))

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.state)


class _RateLimitedWithHeaders(SandboxError):
    """429 from the sandbox's own window; carries the X-RateLimit-* headers of that moment."""

    def __init__(self, retry_after: int | None, headers: dict[str, str]) -> None:
        super().__init__(429, "Too Many Requests", retry_after=retry_after)
        self.rate_headers = headers


def _require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SandboxError(400, f"webhook URL must be on this machine (127.0.0.1/localhost), not {host!r}")
