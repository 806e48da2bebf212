"""Shared vocabulary of the sandbox: constants, the error and answer types, small helpers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.headerregistry import HeaderRegistry
from typing import Any
from urllib.parse import urlparse

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
# SendMessageBodyDto as GHL's spec (apps/conversations.json) types each field: (JSON type, enum or None).
# The sandbox refuses what these refuse and nothing more (the contract tests hold it to the spec).
SEND_SCHEMA: dict[str, tuple[str, list[str] | None]] = {
    "type": ("string", SEND_TYPES),
    "subType": ("object", None),
    "contactId": ("string", None),
    "appointmentId": ("string", None),
    "attachments": ("array", None),
    "emailFrom": ("string", None),
    "emailCc": ("array", None),
    "emailBcc": ("array", None),
    "html": ("string", None),
    "message": ("string", None),
    "subject": ("string", None),
    "replyMessageId": ("string", None),
    "templateId": ("string", None),
    "threadId": ("string", None),
    "scheduledTimestamp": ("number", None),
    "conversationProviderId": ("string", None),
    "emailTo": ("string", None),
    "customSubtypeId": ("string", None),
    "emailReplyMode": ("string", ["reply", "reply_all"]),
    "fromNumber": ("string", None),
    "toNumber": ("string", None),
    "forward": ("object", None),
    "status": ("string", ["delivered", "failed", "pending", "read"]),
    "usesNativeSchedulingAi": ("boolean", None),
    "optimizationPeriod": ("string", ["24h", "48h", "72h"]),
}
_JSON_TYPES = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    # Every array of the send body is an array of strings.
    "array": lambda v: isinstance(v, list) and all(isinstance(item, str) for item in v),
}


def schema_problems(body: dict[str, Any], schema: dict[str, tuple[str, list[str] | None]]) -> list[str]:
    """Return GHL-style (class-validator) messages for each field of `body` the schema refuses."""
    problems = []
    for name, value in body.items():
        if name not in schema:
            problems.append(f"property {name} should not exist")
            continue
        kind, enum = schema[name]
        if not _JSON_TYPES[kind](value):
            problems.append(f"{name} must be {'an' if kind in ('array', 'object') else 'a'} {kind}")
        elif enum is not None and value not in enum:
            problems.append(f"{name} must be one of the following values: {', '.join(enum)}")
    return problems


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
FAULT_MODES = {"error", "timeout", "latency", "rate_limit", "disconnect", "empty"}
ENDPOINTS = {
    "contacts.search_duplicate", "contacts.upsert", "contacts.create", "contacts.get", "contacts.update",
    "conversations.search", "conversations.send", "conversations.messages", "conversations.message",
    "conversations.email", "conversations.cancel_schedule",
}


# An email record's documented statuses lack "clicked": a clicked email is still an opened one.
EMAIL_STATUS = {"clicked": "opened"}


_HEADERS = HeaderRegistry()


def parse_email_from(value: str) -> tuple[str, str] | None:
    """Return (display name, address) of an emailFrom, or None when it names no one address.

    Both forms are accepted: a bare address, and "Name <address>" as in GHL's
    own ProviderOutboundMessage example, with the name quoted or RFC
    2047-encoded as a From header may have it (the name comes back decoded).
    A line break or control character is refused: it would start a header of its own.
    """
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value):
        return None
    try:
        parsed = _HEADERS("from", value)
    except Exception:  # noqa: BLE001 - the stdlib parser raises AttributeError and others on some malformed headers
        return None
    # One mailbox: not a list, and not a group ("Team: <a@x>;"), which a From may not be.
    if parsed.defects or len(parsed.addresses) != 1 or parsed.groups[0].display_name is not None:
        return None
    [address] = parsed.addresses
    if not EMAIL_RE.match(address.addr_spec):
        return None
    return address.display_name, address.addr_spec


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



class RateLimitedWithHeaders(SandboxError):
    """429 from the sandbox's own window; carries the X-RateLimit-* headers of that moment."""

    def __init__(self, retry_after: int | None, headers: dict[str, str]) -> None:
        super().__init__(429, "Too Many Requests", retry_after=retry_after)
        self.rate_headers = headers



def require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SandboxError(400, f"webhook URL must be on this machine (127.0.0.1/localhost), not {host!r}")
