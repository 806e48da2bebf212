"""Ramp's start-up checks (Django's system checks), registered when the app is ready."""

from __future__ import annotations

from django.core.checks import Error, register
from django.db import DatabaseError

from ramp import zone


@register()
def check_operating_zone(app_configs, **kwargs):
    """Refuse to start on an OPERATING_TIMEZONE other than the one the days were counted in, unless confirmed."""
    try:
        sentence = zone.problem()
    except DatabaseError:
        # No database yet (before `migrate`): there are no days to move.
        return []
    return [Error(sentence, id="ramp.E001")] if sentence else []

