"""Exclusion rules: company domains we must never email and a do-not-contact list."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")


def normalize_domain(value: str) -> str:
    """Return `value` as a bare lower-case domain, or raise ValidationError naming what is wrong.

    Accepts what people paste: "@Customer.com", ".customer.com", "https://www.customer.com/".
    """
    domain = (value or "").strip().lower()
    domain = re.sub(r"^[a-z]+://", "", domain).split("/", 1)[0]
    domain = domain.lstrip("@").lstrip(".").rstrip(".")
    if not _DOMAIN_RE.match(domain):
        raise ValidationError(f"{value!r} is not a domain name (expected something like customer.com).")
    return domain


class ExcludedDomain(models.Model):
    """A domain (and all its subdomains) we never email, e.g. a current customer."""

    domain = models.CharField(max_length=253, unique=True)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        try:
            self.domain = normalize_domain(self.domain)
        except ValidationError as exc:
            raise ValidationError({"domain": exc.messages}) from exc

    def save(self, *args, **kwargs) -> None:
        self.domain = self.domain.strip().lower().lstrip("@").lstrip(".")
        super().save(*args, **kwargs)


class DoNotContact(models.Model):
    """An address that must never be emailed, whether or not it is a lead yet."""

    email = models.EmailField(unique=True)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["email"]
        verbose_name = "do-not-contact address"
        verbose_name_plural = "do-not-contact list"

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class Suppression(models.Model):
    """History: one row each time a lead was suppressed (unsubscribe, bounce, complaint, do-not-contact).

    Written by outreach.unsubscribe.suppress_lead in the same transaction as
    the lead's flags; holds the lead's id and address as plain values so the
    history outlives the lead row.
    """

    class Kind(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Spam complaint"
        DO_NOT_CONTACT = "do_not_contact", "Do not contact"

    lead_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    email = models.EmailField()
    kind = models.CharField(max_length=32, choices=Kind.choices)
    source = models.CharField(max_length=100, help_text="Where it came from: unsubscribe_page, ghl_webhook, admin, ...")
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} {self.kind} ({self.source})"
