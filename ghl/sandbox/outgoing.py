"""Outgoing webhooks: build GHL's event payloads, sign them like GHL, deliver them with GHL's retry rule."""

from __future__ import annotations

import logging

import copy
import json
import random
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from ghl.sandbox.common import (
    DEFAULT_COMPANY_ID,
    STATS_STATUS,
    SandboxError,
    iso,
    parse_email_from,
    require_loopback,
    utcnow,
)
from ghl.sandbox.keys import rsa_key
from ghl.webhooks import compact_json

logger = logging.getLogger(__name__)


class OutgoingWebhooksMixin:
    """Build, sign and deliver webhook events."""

    # -- webhooks -------------------------------------------------------------------------

    def _envelope(self, event_type: str, location_id: str) -> dict[str, Any]:
        envelope: dict[str, Any] = {"type": event_type, "locationId": location_id}
        if self.config.get("webhook_stamps", True):
            # GHL's authentication guide puts these on every delivery; its event examples show none.
            envelope.update(
                appId="sandboxApp00000000001",
                versionId="sandboxVersion000001",
                timestamp=iso(utcnow()),
                webhookId=self.new_id("webhook"),
            )
        return envelope

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
        "severity" permanent|temporary and "with_severity" (failed), "url" (clicked), "body"/"subject"
        (InboundMessage)}
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
            # The documented link to the email: its Message-ID header.
            "message": {
                "attachments": [],
                "headers": {
                    "message-id": f"{email['id']}@sandbox.mailgun.example",
                    "from": email["from"],
                    "to": recipient,
                },
                "size": len(email.get("body") or ""),
            },
            "delivery-status": {
                "attempt-no": 1,
                "code": 250,
                "message": "OK",
                "description": "",
                "enhanced-code": "",
                "mx-host": f"mx.{recipient.split('@')[-1]}",
                "utf8": True,
            },
            # The envelope carries the bare address; the From header above keeps the name.
            "envelope": {"sender": _address_of(email["from"]), "targets": recipient, "transport": "smtp", "sending-ip": "127.0.0.1"},
            "tags": [f"loc_{message['locationId']}", f"com_{company_id}", "et_other"],
            "recipient-provider": "Other",
            "campaigns": [],
            "flags": {
                "is-authenticated": True,
                "is-routed": False,
                "is-big": False,
                "is-system-test": False,
                "is-test-mode": False,
            },
            "log-level": "info",
        }
        if self.config.get("lc_operations"):
            # Not in GHL's documents (community reports say GHL sends it): off unless asked for.
            stats["lc-operations"] = {
                "email_message_id": email["id"],
                "message_id": message["id"],
                "contact_id": contact["id"],
                "location_id": message["locationId"],
            }
        if event == "clicked":
            stats["url"] = spec.get("url", "https://example.com/")
        if event == "failed":
            severity = spec.get("severity", "permanent")
            if spec.get("with_severity", True):
                # Mailgun's field, not in GHL's documents: without it only the SMTP codes tell hard from soft.
                stats["severity"] = severity
            stats["reason"] = spec.get("reason", "bounce" if severity == "permanent" else "generic")
            stats["log-level"] = "error" if severity == "permanent" else "warn"
            stats["delivery-status"] = {
                "attempt-no": 1,
                "code": 550 if severity == "permanent" else 421,
                "message": "mailbox unavailable" if severity == "permanent" else "try again later",
                "description": "",
                "enhanced-code": "5.1.1" if severity == "permanent" else "4.4.1",
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
            "to": [_address_of(email["from"])],
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
            to=[_address_of(email["from"])],
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
        "unstamped": leave out timestamp, webhookId, appId and versionId (as GHL's event
        examples show deliveries), "url": deliver elsewhere than config webhook_url.
        """
        payloads = self.build_event(spec)
        for payload in payloads:
            if spec.get("unstamped"):
                for key in ("timestamp", "webhookId", "appId", "versionId"):
                    payload.pop(key, None)
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
        require_loopback(target)
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
        outcomes = bool(self.outcome_settings.get("enabled"))
        names = self.config.get("auto_events") or []
        if outcomes:
            # The outcome plan decides whether the email was delivered or bounced.
            names = [name for name in names if name != "delivered"]
        specs = [{"event": name, "message_id": message_id} for name in names]
        if not specs and not outcomes:
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
            if outcomes:
                self._run_outcomes(message_id)

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


def _address_of(email_from: str) -> str:
    """The address of a stored From ("Name <address>" or a bare address): where a reply is written to."""
    parsed = parse_email_from(email_from)
    return parsed[1] if parsed else email_from
