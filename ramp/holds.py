"""Holds: the kill switch. While any hold is active nothing is sent."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from ramp.days import operating_date
from ramp.models import Hold, RampDay
from ramp.notify import notify

logger = logging.getLogger(__name__)


# Who raises the holds the stop conditions find: the system, not a person.
STOP_CONDITION = "stop condition"


class HoldError(Exception):
    pass


def active_holds():
    return Hold.objects.active()


def is_on_hold() -> bool:
    return Hold.objects.active().exists()


def is_covered(source: str, evidence: tuple[str, ...] | list[str]) -> bool:
    """Return whether a hold of `source` already covered this evidence (active or cleared).

    Without evidence only an active hold of the source covers it.
    """
    holds = Hold.objects.filter(source=source)
    if not evidence:
        return holds.filter(cleared_at__isnull=True).exists()
    seen = {item for covered in holds.values_list("evidence", flat=True) for item in covered or []}
    return set(evidence) <= seen


def cleared_evidence(source: str, *, before=None) -> set[str]:
    """The evidence cleared holds of `source` covered (cleared before the instant `before`, if given):
    a person looked at it, so it counts toward that rule no more from then on."""
    cleared = Hold.objects.filter(source=source, cleared_at__isnull=False)
    if before is not None:
        cleared = cleared.filter(cleared_at__lt=before)
    cleared = cleared.values_list("evidence", flat=True)
    return {item for covered in cleared for item in covered or []}


def raise_hold(*, reason: str, source: str = "person", raised_by: str = "", evidence: list[str] | None = None) -> Hold | None:
    """Raise a hold, recording the evidence it covers.

    A stop condition (source other than "person") already holding is not
    raised twice: its active hold takes the new evidence. Evidence every item
    of which an earlier hold of the source covered raises nothing (None):
    a person cleared it.
    """
    if not reason.strip():
        raise HoldError("A hold needs a reason.")
    evidence = list(evidence or [])
    with transaction.atomic():
        if source != "person":
            existing = Hold.objects.select_for_update().active().filter(source=source).first()
            if existing is not None:
                added = [item for item in evidence if item not in existing.evidence]
                if added:
                    existing.evidence = [*existing.evidence, *added]
                    existing.save(update_fields=["evidence"])
                return existing
            if evidence and is_covered(source, evidence):
                return None
        hold = Hold.objects.create(reason=reason, source=source, raised_by=raised_by, evidence=evidence)
        # The day a hold covers cannot count as a clean day (a day made later asks ramp_day).
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
