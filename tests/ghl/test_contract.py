"""The client and the sandbox held to GHL's published OpenAPI description (tests/ghl/contract.py).

Every test that uses the `ghl_sandbox` fixture is already checked; these tests
show that the check bites, and pin what is allowed and why.
"""

from __future__ import annotations

import json

import pytest
import requests

from ghl import client as ghl_client
from tests.ghl.contract import (
    ALLOWANCES,
    KNOWN_SPEC_ERRORS,
    OPERATIONS,
    Violation,
    allowance_for,
    check_request,
    spec_errors,
    unallowed,
)
from tests.ghl.test_sandbox import raw


class TamperingSession(requests.Session):
    """A session that breaks the client's requests on the way out, as a buggy client would."""

    def __init__(self, *, drop_query: str = "", rename_field: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.drop_query = drop_query
        self.rename_field = rename_field

    def request(self, method, url, params=None, json=None, **kwargs):
        if params and self.drop_query:
            params = {k: v for k, v in params.items() if k != self.drop_query}
        if json and self.rename_field:
            old, new = self.rename_field
            json = {(new if k == old else k): v for k, v in json.items()}
        return super().request(method, url, params=params, json=json, **kwargs)


def taken(recorder) -> list[str]:
    """Return the recorded breaches and forget them (the fixture fails a test that leaves any)."""
    found = [str(v) for v in recorder.violations]
    recorder.violations.clear()
    return found


def test_the_clients_calls_and_the_sandboxs_answers_are_checked(ghl_sandbox):
    client = ghl_sandbox.client()
    assert client.find_contact_by_email("ann@example.com") is None
    contact = client.resolve_contact(email="ann@example.com", first_name="Ann")
    sent = client.send_email(contact_id=contact.id, subject="Hi", html="<p>m-1</p>", text="m-1")
    assert client.find_sent_email_containing(contact.id, "m-1") == sent
    recorder = ghl_sandbox.contract
    # search duplicate, upsert, send, conversation search, message list, email read.
    assert recorder.checked_requests == 6 and recorder.checked_responses == 6
    assert recorder.violations == []


def test_a_wrong_version_header_breaks_the_contract(ghl_sandbox, monkeypatch):
    monkeypatch.setattr(ghl_client, "CONVERSATIONS_VERSION", ghl_client.CONTACTS_VERSION)
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    with pytest.raises(ghl_client.GhlAuthError):  # the sandbox refuses it too, as GHL does
        client.find_conversation_id(contact.id)
    breaches = taken(ghl_sandbox.contract)
    assert any(b.startswith("conversations.search request: InvalidParameter Version") for b in breaches), breaches
    assert any("'2021-07-28' is not one of ['2021-04-15']" in b for b in breaches), breaches


def test_a_dropped_location_id_breaks_the_contract(ghl_sandbox):
    client = ghl_sandbox.client(session=TamperingSession(drop_query="locationId"))
    with pytest.raises(ghl_client.GhlValidationError):
        client.find_contact_by_email("ann@example.com")
    breaches = taken(ghl_sandbox.contract)
    assert any(b.startswith("contacts.search_duplicate request: MissingRequiredParameter locationId") for b in breaches), breaches


def test_a_misnamed_body_field_breaks_the_contract(ghl_sandbox):
    contact = ghl_sandbox.client().upsert_contact(email="ann@example.com")
    client = ghl_sandbox.client(session=TamperingSession(rename_field=("message", "mesage")))
    with pytest.raises(ghl_client.GhlValidationError):
        client.send_email(contact_id=contact.id, subject="Hi", html="<p>x</p>", text="x")
    assert taken(ghl_sandbox.contract) == ["conversations.send request: unknown body field 'mesage'"]


def test_a_misnamed_query_parameter_breaks_the_contract():
    breaches = check_request(
        "contacts.search_duplicate",
        method="GET",
        path="/contacts/search/duplicate",
        query={"locationId": "loc", "emial": "a@b.example"},
        headers={"Version": "2021-07-28", "Authorization": "Bearer t"},
        body=None,
    )
    assert [str(b) for b in breaches] == ["contacts.search_duplicate request: unknown query parameter 'emial'"]


def test_the_published_spec_breaks_openapi_exactly_where_we_allow_it():
    # If GHL publishes corrected (or newly broken) files, this says so, and the allowance is revisited.
    assert spec_errors("contacts") | spec_errors("conversations") == KNOWN_SPEC_ERRORS


def test_the_send_allowance_covers_only_subtype_and_status():
    def violation(message: str) -> Violation:
        return Violation("conversations.send", "request", message)

    assert allowance_for(violation("'subType' is a required property")).name == "send-subType-status-required"
    assert allowance_for(violation("'status' is a required property")).name == "send-subType-status-required"
    assert allowance_for(violation("'contactId' is a required property")) is None
    assert allowance_for(Violation("conversations.messages", "request", "'status' is a required property")) is None


def test_the_shape_allowances_cover_only_the_shapes_they_name():
    nested = Violation("conversations.messages", "response", "x", 200, {"messages": {"messages": []}})
    flat_but_wrong = Violation("conversations.messages", "response", "x", 200, {"messages": []})
    assert allowance_for(nested).name == "nested-message-list"
    assert allowance_for(flat_but_wrong) is None
    assert allowance_for(Violation("conversations.email", "response", "x", 200, {"emailMessage": {}})).name == (
        "wrapped-message-and-email"
    )
    assert allowance_for(Violation("conversations.email", "response", "x", 200, {"id": "e"})) is None


def test_every_allowance_has_a_name_and_a_reason():
    names = [a.name for a in ALLOWANCES]
    assert len(names) == len(set(names))
    assert all(len(a.reason) > 60 for a in ALLOWANCES)


def test_every_sandbox_endpoint_maps_to_a_published_operation():
    from ghl.sandbox.core import ENDPOINTS

    assert set(OPERATIONS) == ENDPOINTS


# -- the sandbox is as strict as the spec, and no stricter ---------------------------------------

SEND_PATH = "/conversations/messages"
CONVERSATIONS = "2021-04-15"


def spec_breaches(endpoint: str, path: str, *, query=None, body=None, version: str | None = CONVERSATIONS) -> list[str]:
    headers = {"Authorization": "Bearer t", **({"Version": version} if version else {})}
    encoded = None if body is None else json.dumps(body).encode()
    method = "POST" if body is not None else "GET"
    found = check_request(endpoint, method=method, path=path, query=query or {}, headers=headers, body=encoded)
    return [str(v) for v in unallowed(found)]


SPEC_VALID_SENDS = {
    "no subject": {"type": "Email", "html": "<p>x</p>"},
    "native scheduling": {"type": "Email", "subject": "s", "html": "<p>x</p>", "usesNativeSchedulingAi": True},
    "a documented status": {"type": "Email", "subject": "s", "message": "x", "status": "pending"},
    "an object subType": {"type": "Email", "subject": "s", "html": "h", "subType": {}},
}
SPEC_INVALID_SENDS = {
    "a bogus status": ({"type": "Email", "subject": "s", "html": "h", "status": "bogus"}, "status must be one of"),
    "a number as subType": ({"type": "Email", "subject": "s", "html": "h", "subType": 123}, "subType must be an object"),
    "an unknown message type": ({"type": "Fax", "subject": "s", "html": "h"}, "type must be one of"),
    "a string as the native-scheduling flag": (
        {"type": "Email", "html": "h", "usesNativeSchedulingAi": "yes"}, "usesNativeSchedulingAi must be a boolean"
    ),
    "an unknown field": ({"type": "Email", "html": "h", "priority": "high"}, "property priority should not exist"),
}


@pytest.mark.parametrize("body", SPEC_VALID_SENDS.values(), ids=SPEC_VALID_SENDS.keys())
def test_the_sandbox_accepts_every_send_the_spec_accepts(ghl_sandbox, body):
    contact = ghl_sandbox.add_contact("ann@example.com")
    body = {**body, "contactId": contact["id"]}
    assert spec_breaches("conversations.send", SEND_PATH, body=body) == []
    answer = raw(ghl_sandbox, "POST", SEND_PATH, version=CONVERSATIONS, json=body)
    assert answer.status_code == 200, answer.text
    assert len(ghl_sandbox.deliveries()) == 1


@pytest.mark.parametrize(("body", "message"), SPEC_INVALID_SENDS.values(), ids=SPEC_INVALID_SENDS.keys())
def test_the_sandbox_refuses_every_send_the_spec_refuses(ghl_sandbox, body, message):
    contact = ghl_sandbox.add_contact("ann@example.com")
    body = {**body, "contactId": contact["id"]}
    # The spec refuses it (so the contract check bites on a client that sent it) ...
    assert spec_breaches("conversations.send", SEND_PATH, body=body) != []
    # ... and so does the sandbox, the way GHL's validation answers: 422 with an array of messages.
    answer = raw(ghl_sandbox, "POST", SEND_PATH, version=CONVERSATIONS, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "Unprocessable Entity"
    assert any(line.startswith(message) for line in answer.json()["message"]), answer.json()
    assert ghl_sandbox.deliveries() == []


def _conversation_of_five(ghl_sandbox) -> str:
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = [client.send_email(contact_id=contact.id, subject=f"n{n}", html="<p>x</p>", text="") for n in range(5)]
    return sent[0].conversation_id


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("10.5", "limit must be a whole number not less than 1"),
        ("-5", "limit must be a whole number not less than 1"),
        ("0", "limit must be a whole number not less than 1"),
        ("many", "limit must be a number conforming to the specified constraints"),
    ],
)
def test_a_limit_that_counts_no_messages_is_a_422_like_ghls(ghl_sandbox, limit, message):
    conversation = _conversation_of_five(ghl_sandbox)
    answer = raw(ghl_sandbox, "GET", f"/conversations/{conversation}/messages", version=CONVERSATIONS, params={"limit": limit})
    assert answer.status_code == 422
    body = answer.json()
    assert (body["statusCode"], body["message"], body["error"]) == (422, [message], "Unprocessable Entity")
    assert "Traceback" not in answer.text and "Error" not in " ".join(body["message"])


def test_a_whole_limit_pages_as_asked(ghl_sandbox):
    conversation = _conversation_of_five(ghl_sandbox)
    path = f"/conversations/{conversation}/messages"
    assert spec_breaches("conversations.messages", path, query={"limit": "2"}) == []
    first = raw(ghl_sandbox, "GET", path, version=CONVERSATIONS, params={"limit": "2"}).json()
    assert len(first["messages"]) == 2 and first["nextPage"] is True and first["lastMessageId"]
    rest = raw(ghl_sandbox, "GET", path, version=CONVERSATIONS, params={"limit": "5.0", "lastMessageId": first["lastMessageId"]}).json()
    assert len(rest["messages"]) == 3 and rest["nextPage"] is False


def test_version_is_enforced_only_where_the_spec_declares_one(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = client.send_email(contact_id=contact.id, subject="Hi", html="<p>x</p>", text="")
    email_path = f"/conversations/messages/email/{sent.email_message_id}"
    # The spec declares no Version for the email read: none, or another, is no breach and no 401.
    assert spec_breaches("conversations.email", email_path, version=None) == []
    assert raw(ghl_sandbox, "GET", email_path, version=None).status_code == 200
    assert raw(ghl_sandbox, "GET", email_path, version="2021-07-28").status_code == 200
    # The message read declares 2021-04-15: without it, or with another, both the spec and the sandbox refuse.
    message_path = f"/conversations/messages/{sent.message_id}"
    assert spec_breaches("conversations.message", message_path, version=None) != []
    assert raw(ghl_sandbox, "GET", message_path, version=None).status_code == 401
    assert raw(ghl_sandbox, "GET", message_path, version="2021-07-28").status_code == 401
    assert raw(ghl_sandbox, "GET", message_path, version=CONVERSATIONS).status_code == 200
