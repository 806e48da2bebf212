"""Outcomes the sandbox produces on its own after each send, so a demo fills in without anyone posting events.

When `outcomes.enabled` is on, every email sent through the sandbox gets a
plan of what "happens" to it, drawn at the configured rates: delivered or
bounced (hard or soft), opened, clicked, a spam complaint, an unsubscribe, a
reply (interested, not now, out of office or STOP, in a person's words) and a
meeting booked after an interested reply. The plan is delivered as the same
signed webhooks GHL sends (LCEmailStats, InboundMessage, AppointmentCreate),
built by the outgoing-webhooks part.

The draw for one email depends only on the seed and the email's message id
(itself deterministic under the sandbox seed), so the same seed and the same
sends give the same outcomes, whatever the order the threads run in.
"""

from __future__ import annotations

import hashlib
import logging
import random
from typing import Any

from ghl.sandbox.common import SandboxError, iso, utcnow

logger = logging.getLogger(__name__)

# Rates of a believable small campaign; each is a probability for one email.
DEFAULT_RATES: dict[str, float] = {
    "bounced_hard": 0.03,
    "bounced_soft": 0.02,
    # Of the delivered ones:
    "opened": 0.55,
    "clicked": 0.15,  # of the opened ones
    "complained": 0.01,
    "unsubscribed": 0.03,
    "replied": 0.25,
    # Of the interested replies:
    "meeting": 0.5,
}
# How replies split (weights, not probabilities).
DEFAULT_REPLY_MIX: dict[str, float] = {"interested": 0.35, "not_now": 0.25, "out_of_office": 0.2, "stop": 0.2}

REPLY_TEXTS: dict[str, tuple[str, ...]] = {
    "interested": (
        "Hi, thanks for reaching out. This sounds interesting - could we find 20 minutes next week to talk it through?",
        "Good timing, we were just looking at this. Can you send over some times that work for a quick call?",
        "Yes, I'd like to learn more. What would a pilot look like for a team of our size?",
    ),
    "not_now": (
        "Thanks, but not right now. We just signed for this year; please check back with me next quarter.",
        "Not a priority for us at the moment. Maybe reach out again in six months.",
        "We're in the middle of a reorg, so the timing is bad. Circle back in the new year?",
    ),
    "out_of_office": (
        "I am out of the office until Monday with limited access to email. For anything urgent please contact my colleague.",
        "Automatic reply: I'm currently on leave and will respond when I return next week.",
    ),
    "stop": (
        "STOP",
        "Please remove me from your mailing list.",
        "Unsubscribe. Do not email me again.",
    ),
}


def default_outcomes() -> dict[str, Any]:
    return {
        "enabled": False,
        # Mixed into each email's draw; the sandbox seed when empty.
        "seed": "",
        # Seconds between a send and its first outcome, then between outcomes: the app
        # records the send's ids after GHL answers, and an event that arrives first cannot find its card.
        "delay_seconds": 2.0,
        "rates": dict(DEFAULT_RATES),
        "reply_mix": dict(DEFAULT_REPLY_MIX),
    }


def validate_outcomes(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Return `current` with `changes` merged in, or raise SandboxError naming what is wrong."""
    merged = {**current, "rates": dict(current["rates"]), "reply_mix": dict(current["reply_mix"])}
    for name, value in changes.items():
        if name == "enabled":
            if not isinstance(value, bool):
                raise SandboxError(400, "outcomes.enabled must be true or false")
            merged["enabled"] = value
        elif name == "seed":
            merged["seed"] = str(value)
        elif name == "delay_seconds":
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 600:
                raise SandboxError(400, "outcomes.delay_seconds must be a number of seconds from 0 to 600")
            merged["delay_seconds"] = float(value)
        elif name in ("rates", "reply_mix"):
            known = DEFAULT_RATES if name == "rates" else DEFAULT_REPLY_MIX
            if not isinstance(value, dict):
                raise SandboxError(400, f"outcomes.{name} must be an object")
            for key, number in value.items():
                if key not in known:
                    raise SandboxError(400, f"unknown outcomes.{name} key {key!r}; known: {sorted(known)}")
                if not isinstance(number, (int, float)) or isinstance(number, bool) or not 0 <= number <= 1:
                    raise SandboxError(400, f"outcomes.{name}.{key} must be a number from 0 to 1, not {number!r}")
                merged[name][key] = float(number)
        else:
            raise SandboxError(400, f"unknown outcomes key {name!r}; known: delay_seconds, enabled, rates, reply_mix, seed")
    if merged["rates"]["bounced_hard"] + merged["rates"]["bounced_soft"] > 1:
        raise SandboxError(400, "outcomes.rates: bounced_hard + bounced_soft must not exceed 1")
    if not any(merged["reply_mix"].values()):
        raise SandboxError(400, "outcomes.reply_mix needs at least one weight above 0")
    return merged


def plan_outcomes(settings: dict[str, Any], seed: str, message_id: str) -> list[dict[str, Any]]:
    """Return the event specs for one sent email, in the order they happen (deterministic for seed + message id)."""
    rng = random.Random(hashlib.sha256(f"outcomes:{settings.get('seed') or seed}:{message_id}".encode()).digest())
    rates = settings["rates"]
    draw = rng.random()
    if draw < rates["bounced_hard"]:
        return [{"event": "failed", "severity": "permanent", "message_id": message_id}]
    if draw < rates["bounced_hard"] + rates["bounced_soft"]:
        return [{"event": "failed", "severity": "temporary", "message_id": message_id}]
    specs: list[dict[str, Any]] = [{"event": "delivered", "message_id": message_id}]
    # Every later draw is made whatever happened before, so one rate's change moves no other outcome.
    opened, clicked, complained, unsubscribed, replied, meeting = (rng.random() for _ in range(6))
    if opened < rates["opened"]:
        specs.append({"event": "opened", "message_id": message_id})
        if clicked < rates["clicked"]:
            specs.append({"event": "clicked", "message_id": message_id, "url": "https://example.com/pricing"})
    if complained < rates["complained"]:
        specs.append({"event": "complained", "message_id": message_id})
        return specs
    if unsubscribed < rates["unsubscribed"]:
        specs.append({"event": "unsubscribed", "message_id": message_id})
        return specs
    if replied < rates["replied"]:
        mix = settings["reply_mix"]
        kinds = [k for k in mix if mix[k] > 0]
        kind = rng.choices(kinds, weights=[mix[k] for k in kinds])[0]
        text = rng.choice(REPLY_TEXTS[kind])
        specs.append({"event": "InboundMessage", "message_id": message_id, "body": text, "reply_kind": kind})
        if kind == "interested" and meeting < rates["meeting"]:
            specs.append({"event": "AppointmentCreate", "message_id": message_id})
    return specs


class OutcomesMixin:
    """Plan and deliver each send's outcomes; the /_sandbox/outcomes control."""

    @property
    def outcome_settings(self) -> dict[str, Any]:
        return self.config.setdefault("outcomes", default_outcomes())

    def configure_outcomes(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.config["outcomes"] = validate_outcomes(self.outcome_settings, changes)
            self._persist()
            return self.config["outcomes"]

    def outcome_plan(self, message_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return plan_outcomes(self.outcome_settings, self.seed, message_id)

    def _appointment(self, message: dict[str, Any], contact: dict[str, Any]) -> dict[str, Any]:
        """AppointmentCreate as GHL's event document shows it (the fields the app reads and a few more)."""
        now = utcnow()
        payload = self._envelope("AppointmentCreate", message["locationId"])
        payload["appointment"] = {
            "id": self.new_id("appointment"),
            "address": "https://meet.example.com/sandbox",
            "calendarId": "sandboxCalendar00001",
            "contactId": contact["id"],
            "groupId": "",
            "appointmentStatus": "confirmed",
            "assignedUserId": "sandboxUser000000001",
            "users": [],
            "notes": "",
            "source": "booking_widget",
            "startTime": iso(now.replace(microsecond=0)),
            "endTime": iso(now.replace(microsecond=0)),
            "dateAdded": iso(now),
            "dateUpdated": iso(now),
            "title": f"Intro call with {contact.get('firstName') or contact.get('email')}",
        }
        self._persist()
        return payload

    def build_outcome(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """Return the delivery payloads for one planned outcome."""
        if spec["event"] == "AppointmentCreate":
            with self.lock:
                message = self._find_message(spec)
                contact = self.state["contacts"][message["contactId"]]
                return [self._appointment(message, contact)]
        return self.build_event({k: v for k, v in spec.items() if k != "reply_kind"})

    def _run_outcomes(self, message_id: str) -> None:
        settings = self.outcome_settings
        for spec in self.outcome_plan(message_id):
            if self.stop_event.wait(float(settings.get("delay_seconds", 0))):
                return
            try:
                for payload in self.build_outcome(spec):
                    self.deliver(payload)
            except SandboxError as exc:
                logger.warning("sandbox outcome %s failed: %s", spec["event"], exc)
