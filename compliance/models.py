"""Exclusion rules: company domains we must never email and a do-not-contact list."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ExcludedDomain(models.Model):
    """A domain (and all its subdomains) we never email, e.g. a current customer."""

    domain = models.CharField(max_length=253, unique=True)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

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
