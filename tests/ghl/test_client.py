"""GhlClient against the real sandbox over a socket: headers, mapping of every error, shapes."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from ghl.client import CONTACTS_VERSION, CONVERSATIONS_VERSION, Contact, GhlClient, SentMessage, get_client
from ghl.errors import (
    GhlAuthError,
    GhlConnectionError,
    GhlConnectionLost,
    GhlIncompleteRead,
    GhlNotFound,
    GhlRateLimited,
    GhlServerError,
    GhlTimeout,
    GhlUnsafeField,
    GhlValidationError,
)
from ghl.ratelimit import NullLimiter


def send(client: GhlClient, contact_id: str, marker: str = "caio-marker-1") -> SentMessage:
    return client.send_email(
        contact_id=contact_id,
        subject="Quick question",
        html=f"<p>Hello</p><!-- {marker} -->",
        text=f"Hello\n{marker}",
    )


def api_requests(sandbox, endpoint: str) -> list[dict]:
    return [r for r in sandbox.requests() if r["endpoint"] == endpoint]


def test_it_sends_bearer_token_version_and_json_headers(ghl_sandbox):
    client = ghl_sandbox.client()
    client.find_contact_by_email("ann@example.com")
    contact = client.upsert_contact(email="ann@example.com")
    send(client, contact.id)

    log = ghl_sandbox.requests()
    assert [r["endpoint"] for r in log] == ["contacts.search_duplicate", "contacts.upsert", "conversations.send"]
    for request in log:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert request["authorization"] == "Bearer <known token>"
        assert headers["accept"] == "application/json"
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"].startswith("caio-backoffice/")
    # Each endpoint gets the Version its spec declares.
    assert [r["headers"]["Version"] for r in log] == [CONTACTS_VERSION, CONTACTS_VERSION, CONVERSATIONS_VERSION]
    assert log[0]["query"] == {"locationId": ghl_sandbox.location_id, "email": "ann@example.com"}


def test_every_call_passes_the_sandbox_which_insists_on_the_spec_versions(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.resolve_contact(email="ann@example.com", first_name="Ann")
    assert client.get_contact(contact.id).id == contact.id
    sent = send(client, contact.id)
    assert client.find_conversation_id(contact.id) == sent.conversation_id
    assert client.list_conversation_messages(sent.conversation_id)[0].id == sent.message_id
    assert client.get_message(sent.message_id).id == sent.message_id
    assert client.get_email(sent.email_message_id).id == sent.email_message_id


def test_get_client_reads_settings(ghl_sandbox):
    client = get_client(limiter=NullLimiter())
    assert client.base_url == ghl_sandbox.base_url
    assert client.location_id == ghl_sandbox.location_id
    assert client.timeout == (1.0, 2.0)
    assert client.find_contact_by_email("nobody@example.com") is None


def test_contacts_duplicate_search_and_upsert(ghl_sandbox):
    client = ghl_sandbox.client()
    assert client.find_contact_by_email("ann@example.com") is None

    created = client.upsert_contact(email="ann@example.com", first_name="Ann", company_name="Acme", source="caio")
    assert created.new is True
    assert created == Contact(id=created.id, email="ann@example.com", dnd=False, email_dnd_status="", new=True)
    assert len(created.id) == 20 and created.id.isalnum()

    # Matching is case-insensitive and the second upsert updates, not duplicates.
    again = client.upsert_contact(email="ANN@example.com", last_name="Lee")
    assert again.id == created.id and again.new is False
    found = client.find_contact_by_email("Ann@Example.com")
    assert found is not None and found.id == created.id and found.new is False
    assert len(ghl_sandbox.contacts()) == 1


def test_resolve_contact_is_one_upsert_that_answers_with_the_contact(ghl_sandbox):
    # No search first: the upsert matches an existing contact and returns it, DND included.
    client = ghl_sandbox.client()
    first = client.resolve_contact(email="bo@example.com", first_name="Bo")
    second = client.resolve_contact(email="bo@example.com", first_name="Bo")
    assert first.new is True and second.new is False and first.id == second.id
    assert [r["endpoint"] for r in ghl_sandbox.requests()] == ["contacts.upsert", "contacts.upsert"]
    ghl_sandbox.set_dnd(first.id, "permanent")
    assert client.resolve_contact(email="bo@example.com").email_blocked


def test_get_contact_reports_dnd(ghl_sandbox):
    contact = ghl_sandbox.add_contact("dee@example.com", dndSettings={"Email": {"status": "permanent"}})
    fetched = ghl_sandbox.client().get_contact(contact["id"])
    assert fetched.email_dnd_status == "permanent" and fetched.email_blocked


def test_unknown_contact_400_not_found_maps_to_not_found(ghl_sandbox):
    with pytest.raises(GhlNotFound) as caught:
        ghl_sandbox.client().get_contact("AAAAAAAAAAAAAAAAAAAA")
    assert caught.value.status == 400
    assert caught.value.message == "Contact with id AAAAAAAAAAAAAAAAAAAA not found"
    assert caught.value.permanent and caught.value.trace_id


def test_unknown_email_404_maps_to_not_found(ghl_sandbox):
    with pytest.raises(GhlNotFound) as caught:
        ghl_sandbox.client().get_email("BBBBBBBBBBBBBBBBBBBB")
    assert caught.value.status == 404


def test_a_wrong_token_is_a_permanent_auth_error(ghl_sandbox):
    client = ghl_sandbox.client(token="not-the-token")
    with pytest.raises(GhlAuthError) as caught:
        client.find_contact_by_email("ann@example.com")
    assert caught.value.status == 401
    assert caught.value.message == "Invalid token: access token is invalid"
    assert caught.value.permanent and not caught.value.retry_safe
    # Auth errors are not retried.
    assert len(ghl_sandbox.requests()) == 1


def test_a_missing_scope_is_an_auth_error(ghl_sandbox):
    ghl_sandbox.add_token("read-only", scopes=["contacts.readonly"])
    client = ghl_sandbox.client(token="read-only")
    assert client.find_contact_by_email("ann@example.com") is None
    with pytest.raises(GhlAuthError, match="not authorized for this scope"):
        client.upsert_contact(email="ann@example.com")


def test_a_token_of_another_location_gets_403(ghl_sandbox):
    ghl_sandbox.add_token("other-location-token", location_id="otherLocation0000001")
    client = ghl_sandbox.client(token="other-location-token")  # still asks for the configured location
    with pytest.raises(GhlAuthError) as caught:
        client.find_contact_by_email("ann@example.com")
    assert caught.value.status == 403
    assert caught.value.message == "The token does not have access to this location."


def test_422_message_arrays_become_validation_details(ghl_sandbox):
    with pytest.raises(GhlValidationError) as caught:
        ghl_sandbox.client().upsert_contact(email="not-an-email")
    assert caught.value.status == 422
    assert caught.value.details == ["email must be an email"]
    assert caught.value.permanent


@pytest.mark.parametrize(
    ("contact_fields", "message"),
    [
        ({"dndSettings": {"Email": {"status": "active"}}}, "Cannot send message as DND is active for Email."),
        ({"dnd": True}, "Cannot send message as DND is active for Email."),
        ({"unsubscribed": True}, "Cannot send email as gone@example.com has unsubscribed"),
    ],
)
def test_sends_to_dnd_or_unsubscribed_contacts_are_permanent_rejections(ghl_sandbox, contact_fields, message):
    contact = ghl_sandbox.add_contact("gone@example.com", **contact_fields)
    with pytest.raises(GhlValidationError) as caught:
        send(ghl_sandbox.client(), contact["id"])
    assert caught.value.status == 400
    assert caught.value.message == message
    assert caught.value.permanent and not caught.value.ambiguous
    assert ghl_sandbox.deliveries() == []


def test_a_contact_with_an_invalid_email_is_rejected(ghl_sandbox):
    contact = ghl_sandbox.add_contact("broken-at-example")
    with pytest.raises(GhlValidationError, match="contact's e-mail is invalid"):
        send(ghl_sandbox.client(), contact["id"])


def test_send_to_an_unknown_contact_is_not_found(ghl_sandbox):
    with pytest.raises(GhlNotFound):
        send(ghl_sandbox.client(), "CCCCCCCCCCCCCCCCCCCC")


def test_send_records_one_delivery_with_ids(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = send(client, contact.id, marker="caio-abc")
    [delivery] = ghl_sandbox.deliveries()
    assert delivery["contact_email"] == "ann@example.com"
    assert delivery["subject"] == "Quick question"
    assert "caio-abc" in delivery["html"] and "caio-abc" in delivery["text"]
    assert (delivery["conversation_id"], delivery["message_id"], delivery["email_message_id"]) == (
        sent.conversation_id,
        sent.message_id,
        sent.email_message_id,
    )


def test_send_has_no_idempotency_a_repeat_sends_twice(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    first = send(client, contact.id)
    second = send(client, contact.id)
    # GHL creates a second message for the same POST: dedupe is the caller's job.
    assert first.message_id != second.message_id
    assert first.conversation_id == second.conversation_id
    assert len(ghl_sandbox.deliveries("ann@example.com")) == 2


@pytest.mark.parametrize("deliver", [True, False])
def test_a_500_on_send_is_ambiguous_and_never_retried(ghl_sandbox, deliver):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    ghl_sandbox.add_fault("conversations.send", "error", status=500, count=3, deliver=deliver)
    with pytest.raises(GhlServerError) as caught:
        send(client, contact.id)
    assert caught.value.ambiguous and not caught.value.permanent and caught.value.status == 500
    assert len(api_requests(ghl_sandbox, "conversations.send")) == 1
    # With deliver=True GHL did send although it answered 500.
    assert len(ghl_sandbox.deliveries()) == (1 if deliver else 0)


@pytest.mark.parametrize("deliver", [True, False])
def test_a_read_timeout_on_send_is_ambiguous(ghl_sandbox, deliver):
    client = ghl_sandbox.client(read_timeout=0.3)
    contact = client.upsert_contact(email="ann@example.com")
    ghl_sandbox.add_fault("conversations.send", "timeout", delay=3, count=1, deliver=deliver)
    started = time.monotonic()
    with pytest.raises(GhlTimeout) as caught:
        send(client, contact.id)
    assert time.monotonic() - started < 2
    assert caught.value.ambiguous and not caught.value.retry_safe
    assert len(ghl_sandbox.deliveries()) == (1 if deliver else 0)


def test_a_connection_dropped_after_sending_is_ambiguous(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    ghl_sandbox.add_fault("conversations.send", "disconnect", count=1, deliver=True)
    with pytest.raises(GhlConnectionLost) as caught:
        send(client, contact.id)
    assert isinstance(caught.value, GhlTimeout) and caught.value.ambiguous
    assert len(ghl_sandbox.deliveries()) == 1


def test_connection_refused_is_safe_to_retry():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    client = GhlClient(
        base_url=f"http://127.0.0.1:{port}", token="t", location_id="loc", limiter=NullLimiter(), read_retries=0
    )
    with pytest.raises(GhlConnectionError) as caught:
        client.send_email(contact_id="x", subject="s", html="h", text="t")
    assert caught.value.retry_safe and not caught.value.ambiguous


def test_a_429_on_send_is_safe_to_retry_and_carries_retry_after(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    ghl_sandbox.add_fault("conversations.send", "rate_limit", count=1, retry_after=7)
    with pytest.raises(GhlRateLimited) as caught:
        send(client, contact.id)
    assert caught.value.retry_safe and caught.value.retry_after == 7.0 and caught.value.status == 429
    assert ghl_sandbox.deliveries() == []


def test_a_429_without_retry_after_uses_the_interval_header(ghl_sandbox):
    ghl_sandbox.configure(rate_limit={"max": 2, "interval_ms": 4000, "retry_after_header": False})
    client = ghl_sandbox.client(read_retries=0)
    client.find_contact_by_email("a@example.com")
    client.find_contact_by_email("a@example.com")
    with pytest.raises(GhlRateLimited) as caught:
        client.find_contact_by_email("a@example.com")
    assert caught.value.retry_after == 4.0


def test_sandbox_rate_limit_429_carries_retry_after(ghl_sandbox):
    ghl_sandbox.configure(rate_limit={"max": 1, "interval_ms": 10_000})
    client = ghl_sandbox.client(read_retries=0)
    client.find_contact_by_email("a@example.com")
    with pytest.raises(GhlRateLimited) as caught:
        client.find_contact_by_email("a@example.com")
    assert 1 <= caught.value.retry_after <= 10


def test_reads_retry_transient_errors_with_backoff(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = send(client, contact.id)
    ghl_sandbox.add_fault("conversations.search", "error", status=502, count=1)
    ghl_sandbox.add_fault("conversations.search", "rate_limit", count=1, retry_after=0)
    assert client.find_conversation_id(contact.id) == sent.conversation_id
    assert len(api_requests(ghl_sandbox, "conversations.search")) == 3


def test_reads_give_up_after_the_retries(ghl_sandbox):
    client = ghl_sandbox.client(read_retries=2)
    ghl_sandbox.add_fault("contacts.search_duplicate", "error", status=503)
    with pytest.raises(GhlServerError):
        client.find_contact_by_email("ann@example.com")
    assert len(api_requests(ghl_sandbox, "contacts.search_duplicate")) == 3


def test_a_long_retry_after_on_a_read_is_raised_not_slept(ghl_sandbox):
    client = ghl_sandbox.client(max_retry_sleep=5)
    ghl_sandbox.add_fault("contacts.search_duplicate", "rate_limit", count=1, retry_after=60)
    with pytest.raises(GhlRateLimited) as caught:
        client.find_contact_by_email("ann@example.com")
    assert caught.value.retry_after == 60.0
    assert len(api_requests(ghl_sandbox, "contacts.search_duplicate")) == 1


def test_a_read_timeout_on_a_read_is_retried(ghl_sandbox):
    client = ghl_sandbox.client(read_timeout=0.3)
    ghl_sandbox.add_fault("contacts.search_duplicate", "timeout", delay=2, count=1)
    assert client.find_contact_by_email("ann@example.com") is None
    assert len(api_requests(ghl_sandbox, "contacts.search_duplicate")) == 2


@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_list_messages_reads_both_shapes_and_follows_every_page(ghl_sandbox, shape):
    ghl_sandbox.configure(messages_list_shape=shape, messages_page_size=2)
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = [send(client, contact.id, marker=f"m{i}") for i in range(5)]
    messages = client.list_conversation_messages(sent[0].conversation_id)
    # Three pages of at most two, newest first, in either shape.
    assert [m.id for m in messages] == [s.message_id for s in reversed(sent)]
    pages = api_requests(ghl_sandbox, "conversations.messages")
    assert len(pages) == 3
    assert "lastMessageId" not in pages[0]["query"]
    assert pages[1]["query"]["lastMessageId"] == sent[3].message_id
    first = messages[0]
    assert first.direction == "outbound" and first.message_type == "TYPE_EMAIL"
    assert first.email_message_id == sent[-1].email_message_id
    assert first.body is None  # GHL leaves email bodies out of the list


@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_a_failing_page_makes_the_whole_listing_an_incomplete_read(ghl_sandbox, shape):
    ghl_sandbox.configure(messages_list_shape=shape, messages_page_size=2)
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = [send(client, contact.id, marker=f"m{i}") for i in range(5)]
    ghl_sandbox.add_fault("conversations.messages", "error", status=500, skip=1)
    with pytest.raises(GhlIncompleteRead) as caught:
        client.list_conversation_messages(sent[0].conversation_id)
    assert caught.value.page == 2 and "HTTP 500" in caught.value.reason
    assert not caught.value.permanent and not caught.value.retry_safe


@pytest.mark.parametrize(
    "payload, reason",
    [
        ({"messages": "nope"}, "neither the flat nor the nested shape"),
        ({"items": []}, "neither the flat nor the nested shape"),
        ({"messages": [], "lastMessageId": ""}, "whether a next page exists"),
        ({"messages": [{"id": "a"}], "nextPage": True}, "no lastMessageId"),
        ({"messages": {"messages": [{"id": "a"}], "nextPage": True, "lastMessageId": "a"}}, "repeats"),
    ],
    ids=["messages-a-string", "no-messages", "no-nextPage", "next-without-cursor", "cursor-stuck"],
)
def test_a_listing_it_cannot_finish_reading_is_never_taken_for_the_whole(payload, reason):
    client = GhlClient(base_url="http://127.0.0.1:9", token="t", location_id="loc", limiter=NullLimiter())
    client._request = lambda *args, **kwargs: payload  # one canned page, answered again for every cursor
    with pytest.raises(GhlIncompleteRead, match=reason):
        client.list_conversation_messages("conv1")


def test_a_page_limit_reached_is_an_incomplete_read(ghl_sandbox):
    ghl_sandbox.configure(messages_page_size=1)
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = [send(client, contact.id, marker=f"m{i}") for i in range(3)]
    with pytest.raises(GhlIncompleteRead, match="more than 2 pages") as caught:
        client.list_conversation_messages(sent[0].conversation_id, max_pages=2)
    assert caught.value.page == 3


@pytest.mark.parametrize(
    "field, value",
    [("first_name", "Ann\r\nBcc: x@evil.example"), ("last_name", "Lee\x00"), ("company_name", "Acme\u2028Inc"), ("email", "a@b.example\n")],
)
def test_it_refuses_to_send_contact_fields_with_control_characters(ghl_sandbox, field, value):
    client = ghl_sandbox.client()
    fields = {"email": "ann@example.com", field: value}
    with pytest.raises(GhlUnsafeField) as caught:
        client.upsert_contact(**fields)
    assert caught.value.permanent and isinstance(caught.value, GhlValidationError)
    # Nothing left for GHL.
    assert api_requests(ghl_sandbox, "contacts.upsert") == []


def test_resolving_a_contact_with_a_control_character_in_its_email_sends_nothing(ghl_sandbox):
    with pytest.raises(GhlUnsafeField, match="email"):
        ghl_sandbox.client().resolve_contact(email="ann@example.com\r\n", first_name="Ann")
    assert ghl_sandbox.requests() == []


def test_it_refuses_a_subject_that_could_add_mail_headers(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    with pytest.raises(GhlUnsafeField, match="subject"):
        client.send_email(contact_id=contact.id, subject="Hi\r\nBcc: x@evil.example", html="<p>x</p>", text="x")
    assert ghl_sandbox.deliveries() == []


@pytest.mark.parametrize("shape", ["wrapped", "bare"])
def test_get_email_and_message_read_wrapped_and_bare_bodies(ghl_sandbox, shape):
    ghl_sandbox.configure(email_shape=shape, message_shape=shape)
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = send(client, contact.id, marker="caio-xyz")
    email = client.get_email(sent.email_message_id)
    assert email.id == sent.email_message_id and email.conversation_id == sent.conversation_id
    assert "caio-xyz" in email.body and email.subject == "Quick question" and email.status == "sent"
    message = client.get_message(sent.message_id)
    assert message.id == sent.message_id and message.email_message_id == sent.email_message_id


def test_find_sent_email_containing_finds_the_marked_email(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    send(client, contact.id, marker="caio-first")
    wanted = send(client, contact.id, marker="caio-second")
    assert client.find_sent_email_containing(contact.id, "caio-second") == wanted
    assert client.find_sent_email_containing(contact.id, "caio-missing") is None


def test_find_sent_email_containing_is_none_without_a_conversation(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="new@example.com")
    assert client.find_sent_email_containing(contact.id, "caio-anything") is None


def test_find_sent_email_containing_ignores_inbound_replies(ghl_sandbox, webhook_receiver):
    ghl_sandbox.configure(webhook_url=webhook_receiver.url, auto_events=[])
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = send(client, contact.id, marker="caio-original")
    # The contact quotes a marker we never sent: it must not count as our email.
    ghl_sandbox.trigger("InboundMessage", message_id=sent.message_id, body="<p>re: caio-never-sent</p>")
    assert client.find_sent_email_containing(contact.id, "caio-never-sent") is None
    assert client.find_sent_email_containing(contact.id, "caio-original") == sent


def test_find_sent_email_containing_propagates_errors_rather_than_saying_absent(ghl_sandbox):
    client = ghl_sandbox.client(read_retries=0)
    contact = client.upsert_contact(email="ann@example.com")
    send(client, contact.id, marker="caio-m")
    ghl_sandbox.add_fault("conversations.email", "error", status=500)
    with pytest.raises(GhlServerError):
        client.find_sent_email_containing(contact.id, "caio-m")


def test_the_token_never_reaches_the_logs(ghl_sandbox, caplog):
    secret = "pit-secret-value-123"
    ghl_sandbox.add_token(secret)
    client = ghl_sandbox.client(token=secret, read_retries=0)
    caplog.set_level(logging.DEBUG)
    contact = client.upsert_contact(email="ann@example.com")
    send(client, contact.id)
    ghl_sandbox.add_fault("*", "error", status=500)
    with pytest.raises(GhlServerError):
        client.find_contact_by_email("ann@example.com")
    assert caplog.records  # the calls were logged...
    assert secret not in caplog.text  # ...without the token
    assert "ann@example.com" not in caplog.text  # nor the email in the query string
    assert secret not in repr(client)
    assert all(secret not in str(r) for r in ghl_sandbox.requests())


@pytest.mark.redis
def test_a_429_pauses_the_shared_limiter(ghl_sandbox, redis_conn):
    from ghl.ratelimit import RedisRateLimiter

    limiter = RedisRateLimiter(location_id=ghl_sandbox.location_id, limit=100, window_seconds=10, connection=redis_conn)
    client = ghl_sandbox.client(limiter=limiter, read_retries=0)
    ghl_sandbox.add_fault("contacts.search_duplicate", "rate_limit", count=1, retry_after=3)
    with pytest.raises(GhlRateLimited):
        client.find_contact_by_email("ann@example.com")
    # Every worker of the location now waits about 3 s.
    assert 2 < limiter.paused_for() <= 3


@pytest.mark.parametrize("shape", ["meta.email", "meta.email.email"])
def test_find_sent_email_reads_the_email_ids_where_either_of_ghls_documents_puts_them(ghl_sandbox, shape):
    # The spec describes meta.email.messageIds; its own example has meta.email.email.messageIds.
    ghl_sandbox.configure(email_ids_shape=shape)
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    wanted = send(client, contact.id, marker="caio-wanted")
    send(client, contact.id, marker="caio-later")
    [listed, _] = [m for m in client.list_conversation_messages(wanted.conversation_id)][::-1]
    assert listed.email_message_ids == (wanted.email_message_id,)
    assert client.find_sent_email_containing(contact.id, "caio-wanted") == wanted


def test_an_outbound_email_whose_ids_cannot_be_read_makes_the_look_incomplete(ghl_sandbox):
    ghl_sandbox.configure(email_ids_shape="absent")
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = send(client, contact.id, marker="caio-there")
    # Never "absent": the email is there, we just cannot tell which one it is.
    with pytest.raises(GhlIncompleteRead, match=f"outbound email {sent.message_id} names no email id we can read"):
        client.find_sent_email_containing(contact.id, "caio-elsewhere")


def test_email_ids_are_read_from_every_documented_place_and_nothing_else():
    from ghl.client import email_ids_of

    assert email_ids_of({"meta": {"email": {"messageIds": ["a", "b"]}}}) == ("a", "b")
    assert email_ids_of({"meta": {"email": {"email": {"messageIds": ["c"]}}}}) == ("c",)
    assert email_ids_of({"emailMessageId": "d", "meta": {"email": {"messageIds": ["d"]}}}) == ("d",)
    for unreadable in ({}, {"meta": None}, {"meta": {"email": "x"}}, {"meta": {"email": {"messageIds": [1, None, ""]}}}):
        assert email_ids_of(unreadable) == ()


@pytest.mark.parametrize("endpoint", ["contacts.search_duplicate", "conversations.message", "conversations.email"])
def test_a_200_with_an_empty_body_is_an_error_not_an_answer(ghl_sandbox, endpoint):
    from ghl.errors import GhlUnreadableAnswer

    client = ghl_sandbox.client(read_retries=0)
    contact = client.upsert_contact(email="ann@example.com")
    sent = send(client, contact.id)
    ghl_sandbox.add_fault(endpoint, "empty")
    call = {
        "contacts.search_duplicate": lambda: client.find_contact_by_email("nobody@example.com"),
        "conversations.message": lambda: client.get_message(sent.message_id),
        "conversations.email": lambda: client.get_email(sent.email_message_id),
    }[endpoint]
    with pytest.raises(GhlUnreadableAnswer, match="answered 200 with an empty body"):
        call()


def test_a_duplicate_search_without_a_contact_field_is_no_answer():
    from ghl.errors import GhlUnreadableAnswer

    client = GhlClient(base_url="http://127.0.0.1:9", token="t", location_id="loc", limiter=NullLimiter())
    client._request = lambda *args, **kwargs: {"traceId": "x"}
    with pytest.raises(GhlUnreadableAnswer, match="without a contact field"):
        client.find_contact_by_email("ann@example.com")
    client._request = lambda *args, **kwargs: {"contact": None}
    assert client.find_contact_by_email("ann@example.com") is None


def test_find_sent_email_by_its_stored_id_costs_one_request(ghl_sandbox):
    client = ghl_sandbox.client()
    contact = client.upsert_contact(email="ann@example.com")
    sent = send(client, contact.id, marker="caio-by-id")
    before = len(ghl_sandbox.requests())
    assert client.find_sent_email(contact.id, "caio-by-id", message_id=sent.message_id) == sent
    assert [r["endpoint"] for r in ghl_sandbox.requests()[before:]] == ["conversations.message"]


def test_find_sent_email_falls_back_to_the_listing_when_the_read_by_id_fails(ghl_sandbox):
    client = ghl_sandbox.client(read_retries=0)
    contact = client.upsert_contact(email="ann@example.com")
    sent = send(client, contact.id, marker="caio-by-id")
    ghl_sandbox.add_fault("conversations.message", "error", status=500, count=1)
    before = len(ghl_sandbox.requests())
    assert client.find_sent_email(contact.id, "caio-by-id", message_id=sent.message_id) == sent
    endpoints = [r["endpoint"] for r in ghl_sandbox.requests()[before:]]
    assert endpoints[0] == "conversations.message" and "conversations.messages" in endpoints
    # Another contact's message under that id is no proof either: the listing decides.
    other = client.upsert_contact(email="bob@example.com")
    assert client.find_sent_email(other.id, "caio-by-id", message_id=sent.message_id) is None
