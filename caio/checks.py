"""System checks for settings that Django's own checks cannot know about."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_ghl_target(app_configs, **kwargs):
    errors = []
    if not settings.GHL_TOKEN:
        errors.append(Error("GHL_TOKEN is empty.", hint="Set GHL_TOKEN to the location's private integration token.", id="caio.E001"))
    if not settings.DASHBOARD_AUTH_STRICT:
        errors.append(
            Warning(
                "DASHBOARD_AUTH_STRICT is off: the JSON API answers without a token.",
                hint="Set DASHBOARD_AUTH_STRICT=true in every deployed environment.",
                id="caio.W001",
            )
        )
    return errors


@register()
def check_timezone(app_configs, **kwargs):
    if settings.TIME_ZONE != "UTC":
        return [Error("TIME_ZONE must be UTC; the operating day uses OPERATING_TIMEZONE.", id="caio.E002")]
    return []
