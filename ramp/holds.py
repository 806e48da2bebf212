"""Holds: the kill switch. While any hold is active nothing is sent."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from ramp.days import operating_date
from ramp.models import Hold, RampDay
from ramp.notify import notify

logger = logging.getLogger(__name__)


class HoldError(Exception):
    pass


def active_holds():
    return Hold.objects.active()


def is_on_hold() -> bool:
    return Hold.objects.active().exists()


def raise_hold(*, reason: str, source: str = "person", raised_by: str = "") -> Hold:
    """Raise a hold; a stop condition that is already holding is not raised twice."""
    if not reason.strip():
        raise HoldError("A hold needs a reason.")
    with transaction.atomic():
        if source != "person":
            existing = Hold.objects.active().filter(source=source).first()
            if existing is not None:
                return existing
        hold = Hold.objects.create(reason=reason, source=source, raised_by=raised_by)
        # The day a hold covers cannot count as a clean day.
        RampDay.objects.filter(date=operating_date()).update(hold_was_active=True)
    logger.warning("Hold raised (%s): %s", source, reason)
    transaction.on_commit(lambda: _notify(hold))
    return hold


def clear_hold(hold: Hold, *, cleared_by: str, reason: str) -> Hold:
    """Clear a hold; only a named person with a reason may do it."""
    if not cleared_by.strip():
        raise HoldError("Only a named person can clear a hold.")
    if not reason.strip():
        raise HoldError("Clearing a hold needs a reason.")
    updated = Hold.objects.filter(pk=hold.pk, cleared_at__isnull=True).update(
        cleared_at=timezone.now(), cleared_by=cleared_by, clear_reason=reason
    )
    if not updated:
        raise HoldError(f"Hold {hold.pk} is already cleared.")
    hold.refresh_from_db()
    return hold


def hold_banner_lines() -> list[str]:
    """Return the lines every command, page and API answer shows while a hold is active (empty: none).

    The first line says what a hold means; then one line a hold, newest first.
    """
    holds = list(Hold.objects.active().order_by("-raised_at"))
    if not holds:
        return []
    lines = [f"ON HOLD: nothing will be sent while {len(holds)} hold(s) are active; a person clears them with a reason."]
    lines.extend(hold.as_line() for hold in holds)
    return lines


def _notify(hold: Hold) -> None:
    notify(f":octagonal_sign: CAIO {hold.as_line()}")
