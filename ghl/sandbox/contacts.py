"""Contacts: duplicate rules, upsert/create/get/update, DND, as GHL's contacts API answers."""

from __future__ import annotations

from dataclasses import field
from datetime import timezone
from typing import Any

from ghl.sandbox.common import CONTACT_FIELDS, EMAIL_RE, SandboxError, iso, unprocessable, utcnow


class ContactsMixin:
    """The contacts endpoints."""

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
