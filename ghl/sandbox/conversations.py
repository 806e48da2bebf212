"""Conversations: email sends with no idempotency, conversation search, the paged message list and message/email reads."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ghl.sandbox.common import (
    EMAIL_RE,
    EMAIL_STATUS,
    SENDER_EMAIL,
    SEND_SCHEMA,
    SEND_TYPES,
    SandboxError,
    iso,
    parse_email_from,
    schema_problems,
    unprocessable,
    utcnow,
    without_nulls,
)


def page_limit(raw: str | None, *, default: int) -> int:
    """Return the page size a `limit` query asks for, or raise GHL's 422 naming what is wrong.

    The spec types `limit` as a number and says only "Default limit is 20".
    It is silent on fractions, zero and negatives; the safer reading is to
    refuse what cannot be a count of messages (a 422 like GHL's validation
    errors) rather than guess at a page size: a whole number of at least 1.
    """
    if raw is None or raw == "":
        return default
    try:
        number = float(raw)
    except ValueError:
        raise unprocessable("limit must be a number conforming to the specified constraints") from None
    if not number.is_integer() or number < 1:
        raise unprocessable("limit must be a whole number not less than 1")
    return int(number)


class ConversationsMixin:
    """The conversations endpoints."""

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
        problems = schema_problems(body, SEND_SCHEMA)
        if "type" not in body:
            problems.append("type must be one of the following values: " + ", ".join(SEND_TYPES))
        if not body.get("contactId"):
            problems.append("contactId should not be empty")
        if problems:
            raise unprocessable(*problems)
        contact = self._contact(body["contactId"], location_id)
        if body["type"] != "Email":
            raise SandboxError(400, f"The sandbox only emulates Email sends, not {body['type']}")
        # The spec requires neither a subject nor a body (its required list is type, contactId and,
        # in its latest version, subType and status, which we do not hold senders to; see
        # tests/ghl/contract.py): a send without them is accepted, as the spec says.
        email_from = body.get("emailFrom")
        if email_from is not None and parse_email_from(email_from) is None:
            raise unprocessable("emailFrom must be an email or Name <email>")
        sender = parse_email_from(email_from) if email_from is not None else None
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
            "subject": body.get("subject", ""),
            "body": html or text,
            "altText": text,
            # As received: GHL's email record documents "from" as the "Name and Email Id of the sender".
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
            lastMessageBody=body.get("subject", ""),
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
                "from_name": sender[0] if sender else "",
                "from_email": sender[1] if sender else SENDER_EMAIL,
                "subject": body.get("subject", ""),
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
        # Where an email message names its email records: the spec's description of MessageMeta
        # says meta.email.messageIds, its own example meta.email.email.messageIds; "absent" leaves
        # them out (meta is optional in the spec), as a message a client cannot read.
        shape = self.config.get("email_ids_shape", "meta.email")
        email_ids = message.get("meta", {}).get("email", {}).get("messageIds")
        if email_ids is not None and shape == "meta.email.email":
            data["meta"] = {"email": {"email": {"messageIds": list(email_ids)}}}
        elif email_ids is not None and shape == "absent":
            data.pop("meta", None)
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
        limit = page_limit(query.get("limit"), default=self.config["messages_page_size"])
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
