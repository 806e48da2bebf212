"""API tokens for the JSON API: stored hashed, shown once, listed by prefix."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True, help_text="First characters, to recognise a token.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, name: str, created_by: str = "") -> tuple[ApiToken, str]:
        """Create a token; return it with the raw value, which is never stored."""
        raw = f"caio_{secrets.token_urlsafe(32)}"
        token = cls.objects.create(name=name, prefix=raw[:12], token_hash=hash_token(raw), created_by=created_by)
        return token, raw

    def revoke(self) -> bool:
        """Revoke the token at once; return False when it was already revoked."""
        updated = ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.refresh_from_db(fields=["revoked_at"])
        return bool(updated)

    def rotate(self, created_by: str = "") -> tuple[ApiToken, str]:
        """Revoke this token and issue its replacement under the same name; the old one stops working at once."""
        from django.db import transaction

        with transaction.atomic():
            if not self.revoke():
                raise ValueError(f"Token {self.prefix}… is revoked: issue a new one instead of rotating it.")
            return ApiToken.issue(self.name, created_by=created_by)

    @classmethod
    def authenticate(cls, raw: str) -> ApiToken | None:
        token = cls.objects.filter(token_hash=hash_token(raw or ""), revoked_at__isnull=True).first()
        if token is not None:
            cls.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token
