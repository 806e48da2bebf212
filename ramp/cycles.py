"""The live cycle's own record: who ran it, when, which gates it passed and what came of it.

A cycle is stored when it is refused or when it claims cards; outreach fills
in the plain facts (card ids, counts, reasons) and settles the outcome as its
cards are sent or fail. The daily report groups the day by cycle from these
rows, so "log outcomes" is a page rather than a document someone writes.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone

# What `ramp.gates.live_cycle_blockers` and the claim check, in the words a cycle's record uses.
LIVE_GATES = (
    "the operator has the live-cycle permission",
    "no active hold",
    "a fresh passed preflight",
    "inside the sending window",
    "the previous live day has its decision",
    "today's cap is not used up",
    "Redis is reachable",
)


class LiveCycle(models.Model):
    """One supervised live cycle (`dispatch --live` or the console), refused or run."""

    class Outcome(models.TextChoices):
        REFUSED = "refused", "Refused by a gate"
        SENDING = "sending", "Claimed, cards still in flight"
        SETTLED = "settled", "Every claimed card sent, failed or released"

    date = models.DateField(db_index=True, help_text="The operating day.")
    operator = models.CharField(max_length=150, help_text="The go/no-go owner who ran it.")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When the last claimed card settled (or the refusal).")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    gates_passed = models.JSONField(default=list, blank=True)
    refused_because = models.JSONField(default=list, blank=True)
    card_ids = models.JSONField(default=list, blank=True, help_text="The cards it claimed.")
    claimed = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    released = models.PositiveIntegerField(default=0, help_text="Claimed but handed back unsent (e.g. Redis refused the job).")
    in_flight = models.PositiveIntegerField(default=0, help_text="Queued, sending or awaiting reconcile.")
    held_back_by_reason = models.JSONField(default=dict, blank=True, help_text="Approved cards it did not claim, by reason.")

    class Meta:
        ordering = ["-started_at", "-pk"]
        app_label = "ramp"

    def __str__(self) -> str:
        return f"Live cycle {self.started_at:%Y-%m-%d %H:%M} by {self.operator}"

    def as_line(self) -> str:
        """How every page and report writes one cycle."""
        start = f"{self.started_at:%H:%M}"
        if self.outcome == self.Outcome.REFUSED:
            return f"{start} UTC {self.operator}: refused ({'; '.join(self.refused_because)})"
        end = f"{self.ended_at:%H:%M}" if self.ended_at else "still sending"
        held = ", ".join(f"{reason} {n}" for reason, n in sorted(self.held_back_by_reason.items())) or "none"
        parts = [f"claimed {self.claimed}", f"sent {self.sent}", f"failed {self.failed}"]
        if self.released:
            parts.append(f"released {self.released}")
        if self.in_flight:
            parts.append(f"in flight {self.in_flight}")
        return f"{start}–{end} UTC {self.operator}: {', '.join(parts)}; held back: {held}"

    def as_report(self) -> dict:
        return {
            "operator": self.operator,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "outcome": self.outcome,
            "gates_passed": self.gates_passed,
            "refused_because": self.refused_because,
            "claimed": self.claimed,
            "sent": self.sent,
            "failed": self.failed,
            "released": self.released,
            "in_flight": self.in_flight,
            "held_back_by_reason": self.held_back_by_reason,
            "line": self.as_line(),
        }


def cycles_of(date: dt.date) -> list[LiveCycle]:
    """Return the day's cycles, first started first."""
    return list(LiveCycle.objects.filter(date=date).order_by("started_at", "pk"))
