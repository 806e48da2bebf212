"""API tokens for the JSON API: stored hashed, shown once, listed by prefix."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True, help_text="First characters, to recognise a token.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.CharField(max_length=150, blank=True)
    # A personal token stands for its user: the terminal's ramp commands that record a
    # person's act take it as that person's credentials. Without a user: a service token (smoke, scripts).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="api_tokens",
        help_text="The person this token stands for (empty: a service token, which acts for nobody).",
    )
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
    def issue(cls, name: str, created_by: str = "", *, user=None, raw: str | None = None) -> tuple[ApiToken, str]:
        """Create a token (personal when `user` is given); return it with the raw value, which is never stored.

        `raw` is for a value kept elsewhere and issued again (the demo's token file); otherwise a new random one.
        """
        raw = raw or f"caio_{secrets.token_urlsafe(32)}"
        token = cls.objects.create(name=name, prefix=raw[:12], token_hash=hash_token(raw), created_by=created_by, user=user)
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
            return ApiToken.issue(self.name, created_by=created_by, user=self.user)

    @classmethod
    def authenticate(cls, raw: str) -> ApiToken | None:
        token = cls.objects.filter(token_hash=hash_token(raw or ""), revoked_at__isnull=True).first()
        if token is not None:
            cls.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token


class Deployment(models.Model):
    """A version of the code that started serving this instance (recorded at start-up by the release role and the demo).

    The runbook's exit criteria ask for replay and smoke to be green after the
    latest deploy: the gate runs below are compared with the newest row.
    """

    version = models.CharField(max_length=64)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.version} since {self.started_at:%Y-%m-%d %H:%M} UTC"


class GateRun(models.Model):
    """One run of a gate the runbook names and that runs outside the live cycle: a smoke or a replay.

    A failed smoke of this instance blocks live cycles until a later one
    passes; graduation asks for a passed replay and smoke since the last deploy.
    """

    class Kind(models.TextChoices):
        SMOKE = "smoke", "Smoke"
        REPLAY = "replay", "Replay"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    ran_at = models.DateTimeField(default=timezone.now, db_index=True)
    passed = models.BooleanField()
    target = models.CharField(max_length=300, blank=True, help_text="The instance's URL (smoke) or the case directory (replay).")
    this_instance = models.BooleanField(
        default=True, help_text="The run checked this instance (a smoke of another URL is kept but gates nothing here)."
    )
    summary = models.TextField(blank=True, help_text="One line: what passed and what failed.")
    version = models.CharField(max_length=64, blank=True, help_text="The code version that ran it.")

    class Meta:
        ordering = ["-ran_at", "-pk"]

    def __str__(self) -> str:
        return self.as_line()

    def as_line(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return f"{self.get_kind_display().lower()} of {self.target} at {self.ran_at:%Y-%m-%d %H:%M} UTC {verdict}: {self.summary}"
