"""The contract: GHL's published OpenAPI description, applied to our client's requests and the sandbox's answers.

The spec files in `contract/` are GHL's own (CC0; see contract/PROVENANCE.md).
`openapi-core` validates each request against the operation it calls (path,
method, headers with the per-operation `Version`, query, body) and each answer
against the operation's response schema. On top of the library we hold request
bodies and queries closed: the spec does not say `additionalProperties: false`,
but a field GHL does not know is a misnamed one, and GHL would drop it silently.

Where the spec is wrong or self-contradictory, `ALLOWANCES` names each
exception with its reason; nothing else is skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from ghl.sandbox.core import Exchange

SPEC_DIR = Path(__file__).parent / "contract"
SPEC_SERVER = "https://services.leadconnectorhq.com"
CLIENT_USER_AGENT = "caio-backoffice/"


@dataclass(frozen=True)
class Operation:
    spec: str  # file under contract/apps/
    method: str
    pattern: str

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.pattern)).rstrip("/") + "/?$")


# The sandbox's endpoint names and the spec operation each one emulates.
OPERATIONS: dict[str, Operation] = {
    "contacts.search_duplicate": Operation("contacts", "get", "/contacts/search/duplicate"),
    "contacts.upsert": Operation("contacts", "post", "/contacts/upsert"),
    "contacts.create": Operation("contacts", "post", "/contacts/"),
    "contacts.get": Operation("contacts", "get", "/contacts/{contactId}"),
    "contacts.update": Operation("contacts", "put", "/contacts/{contactId}"),
    "conversations.search": Operation("conversations", "get", "/conversations/search"),
    "conversations.send": Operation("conversations", "post", "/conversations/messages"),
    "conversations.messages": Operation("conversations", "get", "/conversations/{conversationId}/messages"),
    "conversations.message": Operation("conversations", "get", "/conversations/messages/{id}"),
    "conversations.email": Operation("conversations", "get", "/conversations/messages/email/{id}"),
    "conversations.cancel_schedule": Operation(
        "conversations", "delete", "/conversations/messages/email/{emailMessageId}/schedule"
    ),
}


@dataclass(frozen=True)
class Violation:
    """One way a request or an answer breaks the spec."""

    endpoint: str
    side: str  # "request" or "response"
    message: str
    status: int | None = None
    payload: Any = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        where = f"{self.endpoint} {self.side}" + (f" {self.status}" if self.status is not None else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Allowance:
    """A named exception to the spec, with the reason it is the spec that is wrong, not us."""

    name: str
    reason: str
    applies: Callable[[Violation], bool] = field(compare=False, repr=False)


def _nested_list(v: Violation) -> bool:
    return (
        v.endpoint == "conversations.messages"
        and v.side == "response"
        and isinstance(v.payload, dict)
        and isinstance(v.payload.get("messages"), dict)
    )


def _wrapped_read(v: Violation) -> bool:
    wrapper = {"conversations.message": "message", "conversations.email": "emailMessage"}.get(v.endpoint)
    return v.side == "response" and wrapper is not None and isinstance(v.payload, dict) and wrapper in v.payload


ALLOWANCES: tuple[Allowance, ...] = (
    Allowance(
        "spec-not-valid-openapi",
        "The published files break the OpenAPI 3.0 meta-schema in the places "
        "KNOWN_SPEC_ERRORS lists (a parameter of type 'any', security schemes mixing "
        "apiKey and http fields, path parameters {id} never declared, a string where "
        "an object belongs). They are loaded without the library's self-check; "
        "test_contract pins those errors so a new version of the files is noticed.",
        lambda v: False,  # not a per-call exception; see load_spec()
    ),
    Allowance(
        "send-subType-status-required",
        "SendMessageBodyDto lists subType and status as required, yet its own example "
        "for subType ('Email') breaks the type it declares (object), and status is the "
        "delivery outcome GHL reports (delivered/failed/pending/read), not something a "
        "sender sets; earlier versions of the spec required only type and contactId, and "
        "integrations send an Email without either, as we do.",
        lambda v: v.endpoint == "conversations.send"
        and v.side == "request"
        and v.message in ("'subType' is a required property", "'status' is a required property"),
    ),
    Allowance(
        "nested-message-list",
        "Clients report GHL answering the message list nested "
        "({messages: {messages, nextPage, lastMessageId}}) although the spec documents it flat; the sandbox "
        "answers so only when configured to, and the client reads both.",
        _nested_list,
    ),
    Allowance(
        "wrapped-message-and-email",
        "Clients report GHL answering the message and email reads wrapped ({message: "
        "{...}}, {emailMessage: {...}}) where the spec documents the bare object; the sandbox "
        "answers so only when configured to, and the client reads both.",
        _wrapped_read,
    ),
    Allowance(
        "empty-fault",
        "The sandbox's `empty` fault answers 200 with no body on purpose, as a proxy or "
        "gateway in front of GHL may; it shows the client takes such an answer for no answer.",
        lambda v: v.side == "response" and v.status == 200 and v.payload is None,
    ),
    Allowance(
        "undocumented-status",
        "Operations document only 200/201/400/401/422, but GHL also answers 403 "
        "(wrong location), 404, 429 (its own rate-limit page) and 5xx. Such answers "
        "are held to the spec's common error shape (statusCode, message) instead.",
        lambda v: v.side == "response" and v.message.startswith("undocumented status"),
    ),
)

# What openapi-spec-validator reports about the published files, as (file, path, start of message).
KNOWN_SPEC_ERRORS: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("contacts", "components/securitySchemes/bearer", "schema"),
        ("contacts", "components/securitySchemes/Location-Access", "schema"),
        ("contacts", "components/securitySchemes/Location-Access-Only", "schema"),
        ("contacts", "components/securitySchemes/Agency-Access", "schema"),
        ("contacts", "components/securitySchemes/Agency-Access-Only", "schema"),
        ("contacts", "", "Path parameter 'type' for 'post' operation in '/contacts/bulk/tags/update/{type}' was not resolved"),
        ("conversations", "paths//conversations/search/get/parameters/8", "schema"),
        ("conversations", "paths//conversations/messages/{messageId}/locations/{locationId}/recording/get/responses/200", "schema"),
        ("conversations", "paths//conversations/locations/{locationId}/messages/{messageId}/transcription/download/get/responses/200", "schema"),
        ("conversations", "components/securitySchemes/bearer", "schema"),
        ("conversations", "components/securitySchemes/Location-Access", "schema"),
        ("conversations", "components/securitySchemes/Location-Access-Only", "schema"),
        ("conversations", "components/securitySchemes/Agency-Access", "schema"),
        ("conversations", "components/securitySchemes/Agency-Access-Only", "schema"),
        ("conversations", "components/schemas/UserSubscriptionChangeDto", "schema"),
        ("conversations", "components/schemas/GetEmailMessageResponseDto", "schema"),
        ("conversations", "type", "'any' is not valid under any of the given schemas"),
        ("conversations", "", "Path parameter 'id' for 'get' operation in '/conversations/messages/email/{id}' was not resolved"),
        ("conversations", "", "Path parameter 'id' for 'get' operation in '/conversations/messages/{id}' was not resolved"),
        ("conversations", "", "'outbound' is not of type 'object'"),
    }
)


def allowance_for(violation: Violation) -> Allowance | None:
    return next((a for a in ALLOWANCES if a.applies(violation)), None)


@cache
def load_spec(name: str) -> OpenAPI:
    # spec_validator_cls=None: see the "spec-not-valid-openapi" allowance.
    return OpenAPI.from_file_path(str(SPEC_DIR / "apps" / f"{name}.json"), config=Config(spec_validator_cls=None))


@cache
def _raw_spec(name: str) -> dict[str, Any]:
    return json.loads((SPEC_DIR / "apps" / f"{name}.json").read_text(encoding="utf-8"))


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema and schema["$ref"].startswith("#/"):
        node: Any = spec
        for part in schema["$ref"][2:].split("/"):
            node = node[part]
        schema = node
    return schema


def spec_errors(name: str) -> set[tuple[str, str, str]]:
    """Return what openapi-spec-validator finds wrong in one published file, in KNOWN_SPEC_ERRORS' form."""
    from openapi_spec_validator import OpenAPIV30SpecValidator
    from openapi_spec_validator.readers import read_from_filename

    document, base_uri = read_from_filename(str(SPEC_DIR / "apps" / f"{name}.json"))
    found = set()
    for error in OpenAPIV30SpecValidator(document, base_uri=base_uri).iter_errors():
        where = "/".join(str(p) for p in error.path)
        message = error.message if not error.message.startswith("{") else "schema"
        found.add((name, where, message))
    return found


class _Request:
    """openapi-core's Request protocol for one recorded call (path pattern given, so no guessing of routes)."""

    def __init__(self, operation: Operation, path: str, query: dict[str, str], headers: dict[str, str], body: bytes | None):
        match = operation.regex.match(path)
        self.method = operation.method
        self.host_url = SPEC_SERVER
        self.path = path
        self.path_pattern = operation.pattern
        self.full_url_pattern = SPEC_SERVER + operation.pattern
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(query.items())),
            header=Headers(list(headers.items())),
            cookie=ImmutableMultiDict(),
            path=match.groupdict() if match else {},
        )
        self.body = body or None
        self.content_type = "application/json" if body else ""


class _Response:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]):
        self.status_code = status
        self.data = body
        self.headers = Headers(list(headers.items()))
        self.content_type = "application/json"


def _messages(error: BaseException) -> list[str]:
    """Flatten openapi-core's nested errors into one line each."""
    cause = error.__cause__ or error.__context__
    schema_errors = getattr(error, "schema_errors", None) or getattr(cause, "schema_errors", None)
    name = getattr(error, "name", None)
    if schema_errors:
        # A parameter's errors name the parameter; a body's give the field path.
        prefix = f"{type(error).__name__} {name}: " if name else ""
        return [
            prefix + (f"{'/'.join(str(p) for p in e.absolute_path)}: " if list(e.absolute_path) else "") + e.message
            for e in schema_errors
        ]
    text = f"{type(error).__name__}" + (f" {name}" if name else "")
    if cause is not None and str(cause):
        text += f": {cause}"
    elif str(error):
        text += f": {error}"
    return [text]


def check_request(
    endpoint: str, *, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes | None
) -> list[Violation]:
    """Return every way this request breaks the operation it calls."""
    operation = OPERATIONS[endpoint]
    violations = []
    if method.lower() != operation.method:
        violations.append(Violation(endpoint, "request", f"method {method} is not {operation.method.upper()}"))
    request = _Request(operation, path, query, headers, body)
    for error in load_spec(operation.spec).iter_request_errors(request):
        violations.extend(Violation(endpoint, "request", m) for m in _messages(error))
    spec = _raw_spec(operation.spec)
    op = spec["paths"][operation.pattern][operation.method]
    declared_query = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
    violations.extend(Violation(endpoint, "request", f"unknown query parameter {name!r}") for name in query if name not in declared_query)
    if body:
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        schema = ((op.get("requestBody") or {}).get("content") or {}).get("application/json", {}).get("schema")
        if schema is not None and isinstance(document, dict):
            known = set(_resolve(spec, schema).get("properties", {}))
            violations.extend(
                Violation(endpoint, "request", f"unknown body field {name!r}") for name in document if name not in known
            )
    return violations


def check_response(endpoint: str, *, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                   status: int, body: bytes, response_headers: dict[str, str]) -> list[Violation]:
    """Return every way the sandbox's answer breaks the operation's documented response."""
    operation = OPERATIONS[endpoint]
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        return [Violation(endpoint, "response", "the body is not JSON", status)]
    documented = _raw_spec(operation.spec)["paths"][operation.pattern][operation.method]["responses"]
    if str(status) not in documented:
        ok = isinstance(payload, dict) and payload.get("statusCode") == status and isinstance(payload.get("message"), (str, list))
        message = f"undocumented status {status}" + ("" if ok else " without the common error shape")
        return [Violation(endpoint, "response", message, status, payload)]
    request = _Request(operation, path, query, headers, None)
    violations = []
    for error in load_spec(operation.spec).iter_response_errors(request, _Response(status, body, response_headers)):
        violations.extend(Violation(endpoint, "response", m, status, payload) for m in _messages(error))
    return violations


def unallowed(violations: Iterable[Violation]) -> list[Violation]:
    return [v for v in violations if allowance_for(v) is None]


class ContractRecorder:
    """A sandbox observer: checks every client request and every answer, and keeps what no allowance covers."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self.checked_requests = 0
        self.checked_responses = 0

    def __call__(self, exchange: Exchange) -> None:
        if exchange.endpoint not in OPERATIONS:
            return
        headers = exchange.headers
        if any(k.lower() == "user-agent" and v.startswith(CLIENT_USER_AGENT) for k, v in headers.items()):
            # Only our client's requests: tests poke the sandbox with broken ones on purpose.
            self.checked_requests += 1
            self.violations += unallowed(
                check_request(
                    exchange.endpoint, method=exchange.method, path=exchange.path, query=exchange.query,
                    headers=headers, body=exchange.body,
                )
            )
        outcome = exchange.outcome
        if outcome.hold or outcome.disconnect:
            return
        self.checked_responses += 1
        body = b"" if outcome.body is None else json.dumps(outcome.body).encode()
        self.violations += unallowed(
            check_response(
                exchange.endpoint, method=exchange.method, path=exchange.path, query=exchange.query, headers=headers,
                status=outcome.status, body=body, response_headers=outcome.headers,
            )
        )

    def check_logged_request(self, entry: dict[str, Any]) -> None:
        """Check one entry of the sandbox's request log (a sandbox in another process)."""
        headers = dict(entry["headers"])
        if entry.get("endpoint") not in OPERATIONS:
            return
        if not any(k.lower() == "user-agent" and v.startswith(CLIENT_USER_AGENT) for k, v in headers.items()):
            return
        if entry.get("authorization", "").startswith("Bearer"):
            headers["Authorization"] = "Bearer <not logged>"  # the log never keeps the token itself
        body = json.dumps(entry["json"]).encode() if entry.get("json") is not None else None
        self.checked_requests += 1
        self.violations += unallowed(
            check_request(entry["endpoint"], method=entry["method"], path=entry["path"], query=entry["query"],
                          headers=headers, body=body)
        )

    def report(self) -> str:
        return "\n".join(f"  {v}" for v in self.violations)
