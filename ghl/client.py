"""GoHighLevel API v2 client: the only module that speaks HTTP to GHL.

Every call goes through `GhlClient._request`, which owns the base URL, the
bearer token, the per-endpoint `Version` header, explicit (connect, read)
timeouts, the shared rate limiter and the mapping of answers to the typed
errors of `ghl.errors`. Results are small frozen dataclasses, never raw
responses.

Retries: read calls (and the upsert, which matches an existing contact rather
than creating a second one) retry a couple of times with backoff on connection
errors, 429 and 5xx. `send_email` never retries: GHL has no idempotency key, so
a second POST after a timeout can send the email twice. The caller decides,
after reconciling (see `find_sent_email_containing`).
"""

from __future__ import annotations

import logging
import random
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

from ghl.errors import (
    GhlAuthError,
    GhlConnectionError,
    GhlConnectionLost,
    GhlError,
    GhlIncompleteRead,
    GhlNotFound,
    GhlRateLimited,
    GhlServerError,
    GhlTimeout,
    GhlUnreadableAnswer,
    GhlUnsafeField,
    GhlValidationError,
)
from ghl.ratelimit import Limiter, get_limiter, retry_after_seconds

logger = logging.getLogger(__name__)

CONTACTS_VERSION = "2021-07-28"
CONVERSATIONS_VERSION = "2021-04-15"
USER_AGENT = f"caio-backoffice/1.0 (+https://github.com/psf/requests python-requests/{requests.__version__})"

# Email DND states that forbid sending (GHL answers 400 anyway; callers refuse earlier).
BLOCKING_DND_STATUSES = frozenset({"active", "permanent"})


@dataclass(frozen=True)
class Contact:
    id: str
    email: str
    dnd: bool
    # dndSettings.Email.status: "active" / "inactive" / "permanent", or "" when GHL has none.
    email_dnd_status: str
    # True only when upsert created the contact just now.
    new: bool = False

    @property
    def email_blocked(self) -> bool:
        """True when GHL would refuse an email to this contact because of DND."""
        return self.dnd or self.email_dnd_status in BLOCKING_DND_STATUSES


@dataclass(frozen=True)
class SentMessage:
    conversation_id: str
    message_id: str
    # GHL reports this as not always present on a send; "" then.
    email_message_id: str


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    direction: str
    status: str
    message_type: str
    email_message_id: str
    date_added: str
    body: str | None = None
    subject: str = ""
    # Every email record id GHL names for this message (see email_ids_of).
    email_message_ids: tuple[str, ...] = ()
    contact_id: str = ""


def refuse_control_characters(field: str, value: str) -> str:
    """Return `value`, or raise GhlUnsafeField when it holds a control character (CR, LF, NUL, ...).

    Unicode's line and paragraph separators count too: they split lines for
    many readers just as CR/LF do.
    """
    for char in value:
        if unicodedata.category(char) == "Cc" or char in "\u2028\u2029":
            raise GhlUnsafeField(field)
    return value


def _contact_from(data: dict[str, Any], *, new: bool = False) -> Contact:
    dnd_settings = data.get("dndSettings") or {}
    email_dnd = dnd_settings.get("Email") or {}
    return Contact(
        id=str(data.get("id") or ""),
        email=str(data.get("email") or ""),
        dnd=bool(data.get("dnd")),
        email_dnd_status=str(email_dnd.get("status") or ""),
        new=new,
    )


def email_ids_of(data: dict[str, Any]) -> tuple[str, ...]:
    """Return every email record id a message names, from each place GHL's documents put them.

    1. `meta.email.messageIds`: where the spec's description of MessageMeta
       puts them ("messageIds is list of all email message ids under the
       message thread"), and where integrations read them.
    2. `meta.email.email.messageIds`: where the spec's own example of
       MessageMeta puts them. The documents contradict each other; the safer
       reading is to read both.
    3. `emailMessageId` at the top: how GHL's OutboundMessage and
       InboundMessage events name a message's email record.
    Empty when none of them holds a string id: the caller must then treat the
    message as unread, never as "not the one we look for".
    """
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    meta_email = meta.get("email") if isinstance(meta.get("email"), dict) else {}
    nested = meta_email.get("email") if isinstance(meta_email.get("email"), dict) else {}
    found: list[str] = []
    for ids in (meta_email.get("messageIds"), nested.get("messageIds")):
        if isinstance(ids, list):
            found.extend(i for i in ids if isinstance(i, str) and i)
    if isinstance(data.get("emailMessageId"), str) and data["emailMessageId"]:
        found.append(data["emailMessageId"])
    return tuple(dict.fromkeys(found))


def _message_from(data: dict[str, Any]) -> Message:
    email_ids = email_ids_of(data)
    message_type = data.get("messageType") or data.get("type") or ""
    if message_type == 3:  # numeric type 3 is email
        message_type = "TYPE_EMAIL"
    body = data.get("body")
    return Message(
        id=str(data.get("id") or ""),
        conversation_id=str(data.get("conversationId") or ""),
        direction=str(data.get("direction") or ""),
        status=str(data.get("status") or ""),
        message_type=str(message_type),
        email_message_id=email_ids[0] if email_ids else "",
        date_added=str(data.get("dateAdded") or ""),
        body=body if isinstance(body, str) else None,
        subject=str(data.get("subject") or ""),
        email_message_ids=email_ids,
        contact_id=str(data.get("contactId") or ""),
    )


def _message_page(payload: Any) -> tuple[list[dict[str, Any]] | None, Any, str]:
    """Return (items, nextPage, lastMessageId) of one page in either known shape; items None if neither.

    The spec documents the flat shape; clients report GHL answering the
    same fields nested under `messages`. Only these two are read: any other
    shape is unknown, never guessed at.
    """
    if not isinstance(payload, dict):
        return None, None, ""
    container = payload.get("messages")
    if isinstance(container, dict):
        payload, container = container, container.get("messages")
    if not isinstance(container, list) or not all(isinstance(item, dict) for item in container):
        return None, None, ""
    last = payload.get("lastMessageId")
    return container, payload.get("nextPage"), str(last) if isinstance(last, str) else ""


def _email_from(data: dict[str, Any]) -> Message:
    body = data.get("body")
    record_id = str(data.get("id") or "")
    return Message(
        id=record_id,
        conversation_id=str(data.get("conversationId") or ""),
        direction=str(data.get("direction") or ""),
        status=str(data.get("status") or ""),
        message_type="TYPE_EMAIL",
        email_message_id=record_id,
        date_added=str(data.get("dateAdded") or ""),
        body=body if isinstance(body, str) else None,
        subject=str(data.get("subject") or ""),
        email_message_ids=(record_id,) if record_id else (),
    )


def _error_message(payload: Any, response: requests.Response) -> tuple[str, list[str]]:
    """Return (one-line message, detail list) from a NestJS-style error body."""
    if isinstance(payload, dict):
        raw = payload.get("message", payload.get("msg", payload.get("error")))
        if isinstance(raw, list):
            details = [str(item) for item in raw]
            return "; ".join(details) or response.reason or "error", details
        if raw:
            return str(raw), [str(raw)]
    text = (response.text or "").strip()
    return (text[:200] or response.reason or f"HTTP {response.status_code}"), []


def _is_connect_failure(exc: requests.ConnectionError) -> bool:
    """True when the connection was never established, so the request certainly did not leave."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (NewConnectionError, NameResolutionError)):
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException) and id(reason) not in seen:
            if isinstance(reason, (NewConnectionError, NameResolutionError)):
                return True
        args = getattr(current, "args", ())
        nested = next((a for a in args if isinstance(a, BaseException)), None)
        current = nested or current.__cause__ or current.__context__
    return False


class GhlClient:
    """GHL API v2 client for one location (sub-account)."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        location_id: str | None = None,
        limiter: Limiter | None = None,
        session: requests.Session | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        read_retries: int = 2,
        backoff_seconds: float = 0.5,
        max_retry_sleep: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (base_url or settings.GHL_BASE_URL).rstrip("/")
        self._token = token if token is not None else settings.GHL_TOKEN
        self.location_id = location_id or settings.GHL_LOCATION_ID
        self.limiter = limiter if limiter is not None else get_limiter(self.location_id)
        self.session = session or requests.Session()
        self.timeout = (
            connect_timeout if connect_timeout is not None else settings.GHL_CONNECT_TIMEOUT,
            read_timeout if read_timeout is not None else settings.GHL_READ_TIMEOUT,
        )
        self.read_retries = read_retries
        self.backoff_seconds = backoff_seconds
        # A 429 asking for longer than this is raised to the caller (an RQ retry) instead of slept in-process.
        self.max_retry_sleep = max_retry_sleep
        self._sleep = sleep

    def __repr__(self) -> str:  # never show the token
        return f"GhlClient(base_url={self.base_url!r}, location_id={self.location_id!r})"

    def close(self) -> None:
        self.session.close()

    # -- contacts -------------------------------------------------------------

    def find_contact_by_email(self, email: str) -> Contact | None:
        """Return the location's contact with this email (GHL's duplicate rules), or None."""
        payload = self._request(
            "GET",
            "/contacts/search/duplicate",
            version=CONTACTS_VERSION,
            params={"locationId": self.location_id, "email": refuse_control_characters("email", email)},
            endpoint="contacts.search_duplicate",
        )
        if not isinstance(payload, dict) or "contact" not in payload:
            # A 200 that says nothing is not "no such contact" (GHL answers {"contact": null} then).
            raise GhlUnreadableAnswer("GHL's duplicate search answered without a contact field")
        contact = payload["contact"]
        if contact is None:
            return None
        if not isinstance(contact, dict) or not contact.get("id"):
            raise GhlUnreadableAnswer("GHL's duplicate search answered a contact without an id")
        return _contact_from(contact)

    def upsert_contact(
        self, *, email: str, first_name: str = "", last_name: str = "", company_name: str = "", source: str = ""
    ) -> Contact:
        """Create or update the contact matched by email; `Contact.new` says which happened.

        Raises GhlUnsafeField (permanent) before any request when a field holds control characters.
        """
        body: dict[str, Any] = {"locationId": self.location_id, "email": refuse_control_characters("email", email)}
        for key, value in (
            ("firstName", first_name),
            ("lastName", last_name),
            ("companyName", company_name),
            ("source", source),
        ):
            if value:
                body[key] = refuse_control_characters(key, value)
        payload = self._request(
            "POST",
            "/contacts/upsert",
            version=CONTACTS_VERSION,
            json=body,
            endpoint="contacts.upsert",
            # Upsert matches the existing contact, so repeating it cannot create a duplicate.
            retry=True,
        )
        contact = payload.get("contact") if isinstance(payload, dict) else None
        if not contact or not contact.get("id"):
            raise GhlUnreadableAnswer("GHL upsert answered without a contact id")
        return _contact_from(contact, new=bool(payload.get("new")))

    def get_contact(self, contact_id: str) -> Contact:
        payload = self._request(
            "GET", f"/contacts/{quote(contact_id, safe='')}", version=CONTACTS_VERSION, endpoint="contacts.get"
        )
        contact = payload.get("contact") if isinstance(payload, dict) else None
        if not isinstance(contact, dict) or not contact.get("id"):
            raise GhlUnreadableAnswer(f"GHL answered the read of contact {contact_id} without the contact")
        return _contact_from(contact)

    def resolve_contact(self, *, email: str, **fields: str) -> Contact:
        """Return the contact for `email` in one request: the upsert matches an existing one or creates it.

        The upsert answers with the contact and its DND settings, so no search
        goes first (GHL's budget is 100 requests per 10 s, shared with everything
        else the location runs). `fields` update the matched contact.
        """
        return self.upsert_contact(email=email, **fields)

    # -- conversations --------------------------------------------------------

    def send_email(
        self,
        *,
        contact_id: str,
        subject: str,
        html: str,
        text: str,
        email_from: str = "",
        reply_message_id: str = "",
    ) -> SentMessage:
        """Send one email to a contact. Never retried here: GHL has no idempotency key.

        Raises GhlRateLimited / GhlConnectionError when nothing was sent (safe to
        retry), GhlValidationError for DND/unsubscribed/invalid email (permanent),
        GhlServerError / GhlTimeout when the outcome is unknown (reconcile first).
        """
        # The subject and the From become mail headers: CR/LF there could add headers of their own.
        subject = refuse_control_characters("subject", subject)
        email_from = refuse_control_characters("emailFrom", email_from)
        body: dict[str, Any] = {"type": "Email", "contactId": contact_id, "subject": subject, "html": html}
        if text:
            body["message"] = text
        if email_from:
            # "Name <address>" or a bare address. GHL's spec calls emailFrom an "Email
            # address to send from", yet GHL's own ProviderOutboundMessage webhook example
            # carries "From Name <email@gmail.com>" in it: the field is the From header.
            body["emailFrom"] = email_from
        if reply_message_id:
            body["replyMessageId"] = reply_message_id
        payload = self._request(
            "POST", "/conversations/messages", version=CONVERSATIONS_VERSION, json=body, endpoint="conversations.send"
        )
        if not isinstance(payload, dict) or not payload.get("messageId"):
            # A 2xx without ids: GHL got the request, we cannot tell what it did.
            raise GhlUnreadableAnswer("GHL accepted the send but returned no messageId")
        return SentMessage(
            conversation_id=str(payload.get("conversationId") or ""),
            message_id=str(payload["messageId"]),
            email_message_id=str(payload.get("emailMessageId") or ""),
        )

    def find_conversation_ids(self, contact_id: str) -> list[str]:
        """Return the ids of every conversation of this contact; raise GhlIncompleteRead if GHL says there are more."""
        payload = self._request(
            "GET",
            "/conversations/search",
            version=CONVERSATIONS_VERSION,
            params={"locationId": self.location_id, "contactId": contact_id},
            endpoint="conversations.search",
        )
        conversations = payload.get("conversations") if isinstance(payload, dict) else None
        if not isinstance(conversations, list):
            raise GhlIncompleteRead(f"Conversations of GHL contact {contact_id}", page=1, reason="no conversations list")
        total = payload.get("total")
        if isinstance(total, (int, float)) and total > len(conversations):
            # One page of search results; a contact with more conversations than that is not read in full.
            raise GhlIncompleteRead(
                f"Conversations of GHL contact {contact_id}", page=2, reason=f"{total} found, {len(conversations)} listed"
            )
        # Search may match loosely; only a conversation of this contact counts.
        return [
            str(c["id"])
            for c in conversations
            if isinstance(c, dict) and c.get("id") and c.get("contactId", contact_id) == contact_id
        ]

    def find_conversation_id(self, contact_id: str) -> str | None:
        ids = self.find_conversation_ids(contact_id)
        return ids[0] if ids else None

    def list_conversation_messages(
        self, conversation_id: str, *, message_type: str | None = "TYPE_EMAIL", max_pages: int = 50
    ) -> list[Message]:
        """Return every message of the conversation (newest first), reading all pages; raise if it cannot.

        1. Ask for a page; after the first, pass the previous page's `lastMessageId`.
        2. Read the page in GHL's documented flat shape `{messages: [...], nextPage,
           lastMessageId}` or in the nested `{messages: {messages: [...], ...}}` that
           clients report GHL answering too.
        3. Stop when `nextPage` is false.

        Anything that leaves the list possibly unfinished (an error on a page, an
        unknown shape, `nextPage` without a usable `lastMessageId`, a cursor that
        does not move, more than `max_pages` pages) raises GhlIncompleteRead naming
        the page: a partial list must never be taken for the whole one. Email
        bodies are not included here (use `get_email`).
        """
        what = f"Messages of GHL conversation {conversation_id}"
        messages: list[Message] = []
        cursor: str | None = None
        seen_cursors: set[str] = set()
        for page in range(1, max_pages + 1):
            params: dict[str, str] = {}
            if message_type:
                params["type"] = message_type
            if cursor:
                params["lastMessageId"] = cursor
            try:
                payload = self._request(
                    "GET",
                    f"/conversations/{quote(conversation_id, safe='')}/messages",
                    version=CONVERSATIONS_VERSION,
                    params=params,
                    endpoint="conversations.messages",
                )
            except GhlError as exc:
                raise GhlIncompleteRead(what, page=page, reason=str(exc), status=exc.status, trace_id=exc.trace_id) from exc
            items, next_page, page_last = _message_page(payload)
            if items is None:
                raise GhlIncompleteRead(what, page=page, reason="the answer has neither the flat nor the nested shape")
            messages.extend(_message_from(item) for item in items)
            if next_page is False:
                return messages
            if next_page is not True:
                # The spec requires nextPage; without it we cannot know whether more pages exist.
                raise GhlIncompleteRead(what, page=page + 1, reason="the answer does not say whether a next page exists")
            if not page_last:
                raise GhlIncompleteRead(what, page=page + 1, reason="nextPage is true but no lastMessageId was given")
            if page_last in seen_cursors:
                raise GhlIncompleteRead(what, page=page + 1, reason=f"lastMessageId {page_last} repeats")
            seen_cursors.add(page_last)
            cursor = page_last
        raise GhlIncompleteRead(what, page=max_pages + 1, reason=f"more than {max_pages} pages")

    def get_message(self, message_id: str) -> Message:
        payload = self._request(
            "GET",
            f"/conversations/messages/{quote(message_id, safe='')}",
            version=CONVERSATIONS_VERSION,
            endpoint="conversations.message",
        )
        data = payload.get("message") if isinstance(payload, dict) and isinstance(payload.get("message"), dict) else payload
        if not isinstance(data, dict) or not data.get("id"):
            raise GhlUnreadableAnswer(f"GHL answered the read of message {message_id} without the message")
        return _message_from(data)

    def get_email(self, email_message_id: str) -> Message:
        """Return one email record with its body (GHL answers it wrapped in {emailMessage} or bare)."""
        payload = self._request(
            "GET",
            f"/conversations/messages/email/{quote(email_message_id, safe='')}",
            version=CONVERSATIONS_VERSION,
            endpoint="conversations.email",
        )
        data = payload
        if isinstance(payload, dict) and isinstance(payload.get("emailMessage"), dict):
            data = payload["emailMessage"]
        if not isinstance(data, dict) or not data.get("id"):
            raise GhlUnreadableAnswer(f"GHL answered the read of email {email_message_id} without the email")
        return _email_from(data)

    def find_sent_email_containing(self, contact_id: str, marker: str) -> SentMessage | None:
        """Return the contact's outbound email whose body (or subject) contains `marker`, or None.

        The reconcile helper: None means GHL has no such email for the contact,
        so a resend cannot duplicate it. Any error propagates - an incomplete
        look is never reported as "absent". An outbound email message whose
        email ids cannot be read (`email_ids_of`) and whose body does not show
        the marker makes the look incomplete: GhlIncompleteRead.
        """
        if not marker:
            raise ValueError("marker must not be empty")
        for conversation_id in self.find_conversation_ids(contact_id):
            for message in self.list_conversation_messages(conversation_id):
                if message.direction != "outbound":
                    continue
                if message.message_type not in ("TYPE_EMAIL", "Email", ""):
                    continue
                if message.body and marker in message.body:
                    return SentMessage(conversation_id, message.id, message.email_message_id)
                if not message.email_message_ids:
                    raise GhlIncompleteRead(
                        f"Messages of GHL conversation {conversation_id}",
                        page=None,
                        reason=f"outbound email {message.id or '(no id)'} names no email id we can read",
                    )
                for email_id in message.email_message_ids:
                    email = self.get_email(email_id)
                    if marker in (email.body or "") or marker in email.subject:
                        return SentMessage(conversation_id, message.id, email_id)
        return None

    def find_sent_email(self, contact_id: str, marker: str, *, message_id: str = "") -> SentMessage | None:
        """Return the contact's outbound email carrying `marker`: by its stored id first, else by the listing.

        1. With a `message_id`, read that message (one request). It is the one
           when it is outbound, of this contact, and its body, when GHL gives
           one, contains the marker.
        2. Only when that read fails (an error, another contact's message, a
           body without the marker) look through the conversation listing
           (`find_sent_email_containing`), which alone may answer None.
        """
        if message_id:
            try:
                message = self.get_message(message_id)
            except GhlError as exc:
                logger.info("ghl message %s not read by id (%s); reading the conversation", message_id, type(exc).__name__)
            else:
                ours = message.direction == "outbound" and message.contact_id in ("", contact_id)
                if ours and (message.body is None or marker in message.body):
                    return SentMessage(message.conversation_id, message.id, message.email_message_id)
        return self.find_sent_email_containing(contact_id, marker)

    # -- transport ------------------------------------------------------------

    def _headers(self, version: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "Version": version,
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }

    def _request(
        self,
        method: str,
        path: str,
        *,
        version: str,
        endpoint: str,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        retry: bool | None = None,
    ) -> Any:
        """Send one call (with retries for reads) and return the decoded JSON body, or raise a GhlError."""
        may_retry = (method == "GET") if retry is None else retry
        attempts = 1 + (self.read_retries if may_retry else 0)
        for attempt in range(1, attempts + 1):
            try:
                return self._request_once(method, path, version=version, endpoint=endpoint, params=params, json=json)
            except GhlError as exc:
                transient = exc.retry_safe or exc.ambiguous
                if attempt >= attempts or not transient or getattr(exc, "daily", False):
                    raise
                delay = self.backoff_seconds * (2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
                if isinstance(exc, GhlRateLimited):
                    if exc.retry_after > self.max_retry_sleep:
                        raise
                    delay = max(delay, exc.retry_after)
                logger.info(
                    "ghl %s retry %d/%d in %.2fs after %s",
                    endpoint, attempt, attempts - 1, delay, type(exc).__name__,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _request_once(
        self,
        method: str,
        path: str,
        *,
        version: str,
        endpoint: str,
        params: dict[str, str] | None,
        json: dict[str, Any] | None,
    ) -> Any:
        self.limiter.acquire()
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=json,
                headers=self._headers(version),
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.ConnectionError as exc:
            if _is_connect_failure(exc):
                self._log(endpoint, method, None, started, error="connection refused/unreachable")
                raise GhlConnectionError(f"Could not connect to GHL ({type(exc).__name__})") from None
            self._log(endpoint, method, None, started, error="connection lost")
            raise GhlConnectionLost("Connection to GHL lost after the request was sent") from None
        except requests.Timeout as exc:  # ReadTimeout: the request was sent
            self._log(endpoint, method, None, started, error="read timeout")
            raise GhlTimeout(f"GHL did not answer within {self.timeout[1]:g}s ({type(exc).__name__})") from None
        except requests.RequestException as exc:
            self._log(endpoint, method, None, started, error=type(exc).__name__)
            raise GhlConnectionError(f"Could not send the request to GHL ({type(exc).__name__})") from None

        self.limiter.record_response(response.status_code, response.headers)
        try:
            payload: Any = response.json() if response.content.strip() else None
        except ValueError:
            payload = None
        trace_id = None
        if isinstance(payload, dict):
            trace_id = payload.get("traceId") or None
        trace_id = trace_id or response.headers.get("x-trace-id") or None
        self._log(endpoint, method, response.status_code, started, trace_id=trace_id)

        status = response.status_code
        if 200 <= status < 300:
            if payload is None:
                # Every call we make documents a JSON body: an empty or garbled 200 is no answer at all.
                what = "an empty body" if not response.content.strip() else "a body that is not JSON"
                raise GhlUnreadableAnswer(f"GHL answered {status} with {what}", status=status, trace_id=trace_id)
            return payload
        self._raise_for(status, payload, response, trace_id)

    @staticmethod
    def _raise_for(status: int, payload: Any, response: requests.Response, trace_id: str | None) -> None:
        message, details = _error_message(payload, response)
        kwargs: dict[str, Any] = {"status": status, "trace_id": trace_id}
        if status in (401, 403):
            raise GhlAuthError(message, **kwargs)
        if status == 404:
            raise GhlNotFound(message, **kwargs)
        if status == 429:
            retry_after = retry_after_seconds(response.headers, float(settings.GHL_RATE_LIMIT_WINDOW_SECONDS))
            raise GhlRateLimited(message or "Too Many Requests", retry_after=retry_after, **kwargs)
        if status >= 500:
            raise GhlServerError(message, **kwargs)
        if status == 400 and "not found" in message.lower():
            raise GhlNotFound(message, **kwargs)
        if status in (400, 422):
            raise GhlValidationError(message, details=details, **kwargs)
        # 3xx (we never follow redirects) and other 4xx: not something a retry fixes.
        raise GhlError(message, permanent=True, **kwargs)

    def _log(
        self,
        endpoint: str,
        method: str,
        status: int | None,
        started: float,
        *,
        trace_id: str | None = None,
        error: str | None = None,
    ) -> None:
        # An allowlist: endpoint name, method, status, duration, traceId. Never
        # headers (token), query strings or bodies (emails, message text).
        duration_ms = (time.monotonic() - started) * 1000
        if error:
            logger.warning("ghl %s %s failed after %.0fms: %s", method, endpoint, duration_ms, error)
        else:
            level = logging.INFO if status is not None and status < 400 else logging.WARNING
            logger.log(level, "ghl %s %s -> %s in %.0fms traceId=%s", method, endpoint, status, duration_ms, trace_id or "-")


def get_client(**overrides: Any) -> GhlClient:
    """Return a client configured from settings (keyword overrides for tests and commands)."""
    return GhlClient(**overrides)

