"""The control API under /_sandbox/: the tests' and the operator's remote control (config, faults, contacts, logs, webhooks)."""

from __future__ import annotations

from typing import Any

from ghl.sandbox.common import (
    ALL_SCOPES,
    DEFAULT_COMPANY_ID,
    Outcome,
    SandboxError,
    iso,
    require_loopback,
    utcnow,
)


class ControlMixin:
    """Answer /_sandbox/... requests."""

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
            if key == ("GET", "outcomes") and len(parts) == 1:
                return 200, {"outcomes": self.outcome_settings}
            if key == ("POST", "outcomes") and len(parts) == 1:
                return 200, {"outcomes": self.configure_outcomes(body)}
            if key == ("GET", "outcomes") and len(parts) == 2 and parts[1] == "plan":
                return 200, {"message_id": query["message_id"], "plan": self.outcome_plan(query["message_id"])}
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
            elif name == "outcomes":
                self.configure_outcomes(value)
            elif name in self.config:
                if name == "webhook_url" and value:
                    require_loopback(value)
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
