"""The operating time zone the ramp days were counted in, and the confirmed way to change it.

A change of OPERATING_TIMEZONE once days exist moves the sending window and
"today", so a day's report and its counts would shift: start-up refuses it
(`problem`, run as a system check) unless OPERATING_TIMEZONE_CONFIRMED names
the new zone. The first day recorded after that (`record`) writes the change
on the policy; existing days keep their dates.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from ramp.models import RampDay, RampPolicy


def problem() -> str:
    """Return the one sentence that stops start-up, or '' when the zone may be used."""
    policy = RampPolicy.objects.filter(pk=1).first()
    recorded = policy.operating_timezone if policy else ""
    wanted = settings.OPERATING_TIMEZONE
    if not recorded or recorded == wanted or not RampDay.objects.exists():
        return ""
    if settings.OPERATING_TIMEZONE_CONFIRMED == wanted:
        return ""
    return (
        f"OPERATING_TIMEZONE changed from {recorded} to {wanted} after operating days were counted in {recorded}: "
        f"set OPERATING_TIMEZONE_CONFIRMED={wanted} to confirm the move, or set OPERATING_TIMEZONE back to {recorded}."
    )


def record(policy: RampPolicy) -> None:
    """Write the zone in use on the policy: the first time, or a change confirmed by OPERATING_TIMEZONE_CONFIRMED."""
    wanted = settings.OPERATING_TIMEZONE
    if policy.operating_timezone == wanted:
        return
    sentence = problem()
    if sentence:
        raise RuntimeError(sentence)
    if policy.operating_timezone:
        policy.timezone_changes = [
            *policy.timezone_changes,
            {"from": policy.operating_timezone, "to": wanted, "at": timezone.now().isoformat(), "confirmed_by": "OPERATING_TIMEZONE_CONFIRMED"},
        ]
    policy.operating_timezone = wanted
    policy.save(update_fields=["operating_timezone", "timezone_changes", "updated_at"])
