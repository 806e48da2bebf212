"""Exclusion rules: company domains we must never email and a do-not-contact list."""

from __future__ import annotations

import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from compliance.identity import canonical_domain, canonical_email, mailbox_key


class ExcludedDomain(models.Model):
    """A domain (and all its subdomains) we never email, e.g. a current customer."""

    domain = models.CharField(max_length=253, unique=True, help_text="Canonical form (compliance.identity.canonical_domain).")
    domain_as_entered = models.CharField(max_length=2048, blank=True, help_text="The domain as typed or imported.")
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def canonicalise(self) -> None:
        try:
            domain = canonical_domain(self.domain)
        except ValidationError as exc:
            raise ValidationError({"domain": exc.messages}) from exc
        try:
            still_spells_it = bool(self.domain_as_entered) and canonical_domain(self.domain_as_entered) == domain
        except ValidationError:
            still_spells_it = False
        if not still_spells_it:
            self.domain_as_entered = self.domain.strip()
        self.domain = domain

    def clean(self) -> None:
        self.canonicalise()

    def save(self, *args, **kwargs) -> None:
        self.canonicalise()
        super().save(*args, **kwargs)


class DoNotContact(models.Model):
    """An address, or everyone at a domain and its subdomains, that must never be emailed.

    An address entry has `email` (canonical) and no `domain`; a whole-domain
    entry has `domain` (canonical) and no `email`. `set_entry` reads either
    from what a person types: "ana@x.com" is an address, "x.com", "@x.com" or
    "*@x.com" the whole domain.
    """

    email = models.EmailField(unique=True, null=True, blank=True, help_text="Canonical address (address entries).")
    # What leads are matched on: every spelling of the mailbox (compliance.identity.mailbox_key).
    email_key = models.CharField(max_length=254, null=True, blank=True, editable=False, db_index=True)
    domain = models.CharField(max_length=253, blank=True, help_text="Canonical domain (whole-domain entries).")
    as_entered = models.CharField(max_length=2048, blank=True, help_text="The entry as typed or imported.")
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["email", "domain"]
        verbose_name = "do-not-contact entry"
        verbose_name_plural = "do-not-contact list"
        constraints = [
            models.CheckConstraint(
                condition=(Q(email__isnull=False) & Q(domain="")) | (Q(email__isnull=True) & ~Q(domain="")),
                name="do_not_contact_address_or_domain",
            ),
            models.UniqueConstraint(fields=["domain"], condition=Q(email__isnull=True), name="unique_do_not_contact_domain"),
        ]
        indexes = [
            # compliance.rules looks each lead's domain and its parents up here.
            models.Index(fields=["domain"], name="do_not_contact_domain"),
        ]

    def __str__(self) -> str:
        return self.email or f"everyone at {self.domain}"

    @property
    def entry(self) -> str:
        """The canonical entry as one string: the address, or "*@domain" for a whole domain
        (not "@domain": a cell starting with @ is a formula to a spreadsheet)."""
        return self.email or f"*@{self.domain}"

    @staticmethod
    def parse_entry(value: str) -> tuple[str | None, str]:
        """Return (canonical email or None, canonical domain or '') for a typed entry, or raise ValidationError."""
        # NFKC first: a full-width ＠ is an at sign as typed, and an address stays an address.
        text = unicodedata.normalize("NFKC", (value or "").strip())
        local = text.rpartition("@")[0]
        if local and local != "*":
            return canonical_email(text), ""
        try:
            return None, canonical_domain(text.removeprefix("*"))
        except ValidationError as exc:
            if "@" in text:
                raise
            raise ValidationError(
                f"{value!r} is not an email address nor a domain name (expected ana@customer.com, or *@customer.com for everyone there)."
            ) from exc

    def set_entry(self, value: str) -> None:
        self.email, self.domain = self.parse_entry(value)
        self.as_entered = (value or "").strip()

    def canonicalise(self) -> None:
        """Store the canonical entry; keep what was typed unless it no longer spells the entry."""
        field, typed = ("email", self.email) if self.email else ("domain", f"*@{self.domain}" if self.domain else "")
        if not typed:
            raise ValidationError({"email": "Give an address (ana@customer.com) or a whole domain (*@customer.com)."})
        try:
            entry = self.parse_entry(typed)
        except ValidationError as exc:
            raise ValidationError({field: exc.messages}) from exc
        try:
            still_spells_it = bool(self.as_entered) and self.parse_entry(self.as_entered) == entry
        except ValidationError:
            still_spells_it = False
        if not still_spells_it:
            self.as_entered = typed.strip()
        self.email, self.domain = entry
        self.email_key = mailbox_key(self.email) if self.email else None

    def clean(self) -> None:
        self.canonicalise()

    def save(self, *args, **kwargs) -> None:
        self.canonicalise()
        super().save(*args, **kwargs)


class Suppression(models.Model):
    """One opt-out of an address: unsubscribe, bounce, complaint, do-not-contact.

    Written by outreach.inbound.suppression (suppress_lead, record_opt_out) in the
    same transaction as the lead's flags; holds the lead's id and address as plain
    values so the history outlives the lead row. An opt-out for an address that
    is no lead yet has no lead id: it is kept by its matching key, and a lead
    created later with that key is suppressed at entry (Lead.apply_recorded_opt_outs).
    """

    class Kind(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Spam complaint"
        DO_NOT_CONTACT = "do_not_contact", "Do not contact"

    lead_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    email = models.EmailField()
    # The address's matching key (compliance.identity.mailbox_key); null only for a history row whose address was unreadable.
    email_key = models.CharField(max_length=254, null=True, blank=True, db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    source = models.CharField(max_length=100, help_text="Where it came from: unsubscribe_page, ghl_webhook, admin, ...")
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} {self.kind} ({self.source})"


class IdentityCollision(models.Model):
    """A stored lead whose canonical identity needs a person: written by the
    canonical-identity data migration (compliance.collisions), never resolved silently.

    Until it is resolved, every open card of `lead_id` (and of `other_lead_id`)
    is held back: `compliance.rules.unresolved_collision_q` in querysets, check
    compliance.C019 on a card. Lead ids are plain values, as in Suppression.
    """

    class Kind(models.TextChoices):
        DUPLICATE = "duplicate", "Same canonical address as another lead"
        MATCHES_RULE = "matches_rule", "Matches a suppression rule only in canonical form"
        REFUSED = "refused", "Stored address or domain refused by the canonical form"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    lead_id = models.BigIntegerField(db_index=True, help_text="The lead that needs a decision.")
    other_lead_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, help_text="For a duplicate: the lead that already holds the canonical address."
    )
    stored_value = models.CharField(max_length=2048, help_text="The lead's address (or domain) as stored.")
    canonical_value = models.CharField(max_length=2048, blank=True)
    detail = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolution_note = models.TextField(blank=True, help_text="What was decided and done, e.g. “merged into lead 12; deleted”.")

    class Meta:
        ordering = ["resolved_at", "-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.stored_value}"

    def resolution_problem(self) -> str:
        """Return why this collision cannot be marked resolved yet, or ''.

        A rule match only needs acknowledging: the rule already suppresses the
        lead. A duplicate or a refused value is settled once the lead is gone,
        marked do-not-contact, or stores a canonical address and domain.
        """
        if self.kind == self.Kind.MATCHES_RULE:
            return ""
        from django.apps import apps

        lead = apps.get_model("outreach", "Lead").objects.filter(pk=self.lead_id).first()
        if lead is None or lead.do_not_contact:
            return ""
        for stored, function in ((lead.email, canonical_email), (lead.domain, canonical_domain)):
            try:
                canonical = not stored or function(stored) == stored
            except ValidationError:
                canonical = False
            if not canonical:
                return f"Lead {lead.pk} still stores “{stored}”: correct it, mark the lead do-not-contact or delete it, then resolve."
        return ""

    def resolve(self, *, by, note: str) -> None:
        """Mark resolved by `by` with `note`, or raise ValidationError naming what is still wrong."""
        if not (note or "").strip():
            raise ValidationError({"resolution_note": "Say what was decided."})
        problem = self.resolution_problem()
        if problem:
            raise ValidationError(problem)
        self.resolved_at = timezone.now()
        self.resolved_by = by
        self.resolution_note = note.strip()
        self.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
