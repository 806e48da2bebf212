"""Hold state for every admin page (the banner template decides how to show it)."""

from __future__ import annotations

from django.http import HttpRequest

from ramp.holds import hold_banner_lines


def holds(request: HttpRequest) -> dict:
    """Expose `ramp_hold_lines` (empty when no hold is active) to templates."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"ramp_hold_lines": []}
    return {"ramp_hold_lines": hold_banner_lines()}
