"""Ramp policy, operating days, holds (the kill switch) and preflight runs.

This app takes plain values and ids: it never imports outreach.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from ramp.kpis import VERDICT_FIELDS, KpiCounts, StopVerdict, stop_verdicts


def default_allowed_tiers() -> list[str]:
    return ["tier_1"]


def default_cap_steps() -> list[int]:
    return [10, 20, 40]


# The settings that decide how much is sent, to whom, and when sending stops, with the
# direction that widens sending: +1 a higher value widens, -1 a lower one does.
# Lists are compared by their own rule in RampPolicy.widenings.
WIDENING_DIRECTIONS: dict[str, int] = {
    "daily_cap": +1,
    "per_company_daily_cap": +1,
    "tier2_canary_share": +1,
    "graduation_level": +1,
    # Fewer clean days graduate sooner.
    "clean_days_required": -1,
    # A higher ceiling, or a lower reply floor, stops sending later.
    "max_bounce_rate": +1,
    "max_unsubscribe_rate": +1,
    "max_complaint_rate": +1,
    "min_reply_rate": -1,
    # A higher confidence needs more evidence before a ceiling holds.
    "stop_confidence": +1,
    # A higher count holds later; 0 means the count never holds (see HOLD_COUNT_FIELDS).
    "bounce_hold_count": +1,
    "unsubscribe_hold_count": +1,
    "complaint_hold_count": +1,
}
HOLD_COUNT_FIELDS = ("bounce_hold_count", "unsubscribe_hold_count", "complaint_hold_count")
WIDENING_LIST_FIELDS = ("allowed_tiers", "cap_steps")
# Every setting a change to the policy is judged on, in the policy page's order.
LIMIT_FIELDS = (
    "daily_cap", "per_company_daily_cap", "allowed_tiers", "cap_steps", "tier2_canary_share", "clean_days_required",
    "max_bounce_rate", "max_unsubscribe_rate", "max_complaint_rate", "stop_confidence",
    "bounce_hold_count", "unsubscribe_hold_count", "complaint_hold_count", "min_reply_rate",
)


class RampPolicy(models.Model):
    """The single ramp policy row (pk=1), editable by operators only."""

    class Mode(models.TextChoices):
        CLEAN_DAYS = "clean_days", "Graduate after clean supervised days"
        MANUAL = "manual", "Manual only"

    daily_cap = models.PositiveIntegerField(default=5, help_text="Live sends a day while ramping.")
    per_company_daily_cap = models.PositiveIntegerField(default=1, help_text="Live sends a day to one company domain.")
    allowed_tiers = models.JSONField(default=default_allowed_tiers, help_text='Tiers that may be sent, e.g. ["tier_1"].')
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.CLEAN_DAYS)
    clean_days_required = models.PositiveSmallIntegerField(default=3)
    cap_steps = models.JSONField(default=default_cap_steps, help_text="Daily caps after each graduation, in order.")
    graduation_level = models.PositiveSmallIntegerField(default=0, help_text="0 = still ramping; n = n graduations done.")
    graduated_at = models.DateTimeField(null=True, blank=True)
    streak_starts_on = models.DateField(
        null=True,
        blank=True,
        help_text="Clean days count from this date: set by each graduation and rollback so a new level earns its own streak.",
    )
    tier2_canary_share = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.200"), help_text="Share of the cap given to tier_2 after graduation."
    )
    window_start = models.TimeField(default=dt.time(15, 0), help_text="Sending window start, in the operating time zone.")
    window_end = models.TimeField(default=dt.time(18, 0), help_text="Sending window end, in the operating time zone.")
    max_bounce_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.0500"))
    max_unsubscribe_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.0200"))
    max_complaint_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.0010"))
    min_reply_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.0000"))
    # A rate ceiling holds only when the window shows the rate over it at this
    # confidence (exact one-sided binomial test), or a count below is reached:
    # at 5 sends a day one unsubscribe proves nothing, at 5,000 the test decides.
    stop_confidence = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal("0.9500"), help_text="Confidence a rate must be shown over its ceiling at."
    )
    bounce_hold_count = models.PositiveIntegerField(default=3, help_text="Hard bounces in the window that hold whatever the test says, while the window is too small for the test (0: none).")
    unsubscribe_hold_count = models.PositiveIntegerField(default=2, help_text="Unsubscribes in the window that hold whatever the test says, while the window is too small for the test (0: none).")
    complaint_hold_count = models.PositiveIntegerField(default=1, help_text="Complaints in the window that hold (1: every complaint).")
    operating_timezone = models.CharField(
        max_length=64, blank=True, help_text="The OPERATING_TIMEZONE the operating days were counted in (set on the first day)."
    )
    timezone_changes = models.JSONField(
        default=list, blank=True, help_text="Each confirmed change of OPERATING_TIMEZONE: from, to, when."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "ramp policy"
        verbose_name_plural = "ramp policy"

    def __str__(self) -> str:
        return f"Ramp policy: cap {self.current_cap()}/day, tiers {', '.join(self.allowed_tiers)}"

    @classmethod
    def get(cls) -> RampPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy

    def current_cap(self) -> int:
        """Return today's daily cap: the ramp cap, or the step reached by graduation."""
        if self.graduation_level == 0 or not self.cap_steps:
            return self.daily_cap
        return int(self.cap_steps[min(self.graduation_level, len(self.cap_steps)) - 1])

    def widenings(self, before: RampPolicy) -> list[str]:
        """Return each way this policy sends more, to more people, or stops later than `before` (empty: it widens nothing).

        The one judge of "wider": the policy form, the change services and any
        other path ask it, so narrowing is free and widening is always caught.
        1. A number widens in its field's direction (WIDENING_DIRECTIONS); a hold
           count of 0 never holds, so it is the widest.
        2. allowed_tiers widens when it gains a tier.
        3. cap_steps widens when it gains a step or any step rises.
        """
        lines = []
        for name, direction in WIDENING_DIRECTIONS.items():
            old, new = getattr(before, name), getattr(self, name)
            if name in HOLD_COUNT_FIELDS:
                old, new = old or math.inf, new or math.inf
            if (new - old) * direction > 0:
                lines.append(f"{_label(name)} {getattr(before, name)} → {getattr(self, name)}")
        gained = [tier for tier in self.allowed_tiers if tier not in before.allowed_tiers]
        if gained:
            lines.append(f"allowed tiers gain {', '.join(gained)}")
        old_steps, new_steps = list(before.cap_steps), list(self.cap_steps)
        if len(new_steps) > len(old_steps) or any(new > old for new, old in zip(new_steps, old_steps)):
            lines.append(f"cap steps {old_steps} → {new_steps}")
        return lines

    def limit_values(self) -> dict:
        """This policy's limits as plain JSON values (decimals as text at the field's places), as a change records them."""
        return {name: _plain(name, getattr(self, name)) for name in LIMIT_FIELDS}

    def kpi_problems(self, window: KpiCounts) -> list[str]:
        """What graduation reads on a day: every KPI limit that holds over the day's window
        (`stop_verdicts`, as the stop conditions and the report judge it)."""
        return [verdict.as_line() for verdict in self.stop_verdicts(window) if verdict.holds]

    def stop_verdicts(self, counts: KpiCounts) -> list[StopVerdict]:
        """Judge a window's counts by this policy's ceilings, reply floor, confidence and hold counts.

        The one verdict: the stop conditions, the daily report's recommendation
        and graduation all call it, at every graduation level alike (the count
        rules follow the window's volume, not the level: `kpis.count_rule_limit`).
        """
        return stop_verdicts(counts, {name: getattr(self, name) for name in VERDICT_FIELDS})

    def stop_settings(self) -> list[str]:
        """The stop conditions' settings in force now, one line a ceiling, read from the verdicts themselves."""
        return [verdict.rule_line() for verdict in self.stop_verdicts(KpiCounts(sent=0))]


class RampPolicyChange(models.Model):
    """A two-person change to the ramp policy: an operator proposes it, the Head of Sales approves (or rejects) it.

    The only way besides graduation that widens sending. `changes` holds, for
    each setting the proposal touches, its value when proposed and the value
    asked for; approval applies them only if the policy still has the values
    the proposal was made against.
    Transitions: proposed -> approved | rejected.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    changes = models.JSONField(default=dict, help_text="Setting -> [value when proposed, value asked for].")
    reason = models.TextField(help_text="Why the ramp should widen now.")
    proposed_by = models.CharField(max_length=150)
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        verbose_name = "ramp policy change"
        permissions = [("approve_ramppolicychange", "Can approve a proposed ramp policy change (Head of Sales)")]

    def __str__(self) -> str:
        return f"Ramp policy change #{self.pk} ({self.get_status_display()}, proposed by {self.proposed_by})"

    def change_lines(self) -> list[str]:
        return [f"{_label(name)}: {old} → {new}" for name, (old, new) in self.changes.items()]


def _label(name: str) -> str:
    return RampPolicy._meta.get_field(name).verbose_name


def _plain(name: str, value):
    field = RampPolicy._meta.get_field(name)
    if isinstance(field, models.DecimalField):
        return str(Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places)))
    return value


class RampDay(models.Model):
    """One operating day (in OPERATING_TIMEZONE)."""

    class Decision(models.TextChoices):
        CONTINUE = "continue", "Continue"
        HOLD = "hold", "Hold"
        ROLLBACK = "rollback", "Rollback"

    date = models.DateField(unique=True)
    is_live = models.BooleanField(default=False, help_text="A live (not dry) cycle ran this day.")
    cap = models.PositiveIntegerField(default=5)
    dispatched_count = models.PositiveIntegerField(default=0, help_text="Cards claimed for sending today.")
    sent_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # A record of the day's row; whether a hold marks the day is `ramp.clean.holds_in_window`.
    hold_was_active = models.BooleanField(default=False, help_text="A hold was active during the day.")
    owner = models.CharField(max_length=150, blank=True, help_text="Go/no-go owner of the day's live cycle.")
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, help_text="Why the operator decided so.")
    kpis = models.JSONField(default=dict, blank=True)
    # Signals the database does not receive (opens, meetings, complaints): the
    # operator copies them from GHL's own reporting; empty means not recorded.
    reported_opens = models.PositiveIntegerField(null=True, blank=True, help_text="Opens, as GHL reports them.")
    reported_meetings = models.PositiveIntegerField(null=True, blank=True, help_text="Meetings booked from today's sends.")
    reported_complaints = models.PositiveIntegerField(null=True, blank=True, help_text="Spam complaints, as GHL reports them.")
    report = models.JSONField(default=dict, blank=True, help_text="The stored daily report.")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date} ({'live' if self.is_live else 'no live run'})"

    @property
    def awaits_decision(self) -> bool:
        """The runbook asks for the operator's decision once after each live day; a day with no live run has none."""
        return self.is_live and not self.decision

    @property
    def remaining(self) -> int:
        return max(self.cap - self.dispatched_count, 0)

    # Whether the day is clean is `ramp.clean.day_problems`: it reads the holds and the policy's window.


class HoldQuerySet(models.QuerySet):
    def active(self):
        return self.filter(cleared_at__isnull=True)


class Hold(models.Model):
    """The kill switch: while any hold is active nothing is sent."""

    reason = models.TextField()
    source = models.CharField(max_length=64, default="person", help_text="person, or the stop condition that raised it.")
    raised_by = models.CharField(max_length=150, blank=True)
    raised_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.CharField(max_length=150, blank=True)
    clear_reason = models.TextField(blank=True)
    evidence = models.JSONField(
        default=list, blank=True, help_text="The events this hold covered: once cleared, only new evidence raises its condition again."
    )

    objects = HoldQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at"]
        indexes = [
            # Every send re-checks for an active hold.
            models.Index(fields=["cleared_at"], name="hold_active"),
        ]

    def __str__(self) -> str:
        state = "active" if self.is_active else "cleared"
        return f"Hold ({state}, {self.source}): {self.reason[:60]}"

    @property
    def is_active(self) -> bool:
        return self.cleared_at is None

    def as_line(self) -> str:
        """The one way a hold is written, in every command, page, report and API answer."""
        by = f" by {self.raised_by}" if self.raised_by else ""
        line = f"hold #{self.pk} since {self.raised_at:%Y-%m-%d %H:%M} UTC ({self.source}{by}): {self.reason}"
        if not self.is_active:
            line += f" [cleared {self.cleared_at:%Y-%m-%d %H:%M} UTC by {self.cleared_by}: {self.clear_reason}]"
        return line


class QueueTrace(models.Model):
    """A stored `trace_queue` snapshot: the next trace reports the drift against it."""

    taken_at = models.DateTimeField(default=timezone.now, db_index=True)
    taken_by = models.CharField(max_length=150, blank=True)
    counts = models.JSONField(default=dict, help_text="Counts by status, tier, classifier, campaign, route, visibility.")
    drift = models.JSONField(default=dict, blank=True, help_text="Changes against the previous trace.")
    drift_flagged = models.BooleanField(default=False)

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self) -> str:
        return f"Queue trace {self.taken_at:%Y-%m-%d %H:%M}{' (drift)' if self.drift_flagged else ''}"


class PreflightRun(models.Model):
    ran_at = models.DateTimeField(default=timezone.now, db_index=True)
    passed = models.BooleanField(default=False)
    results = models.JSONField(default=list, help_text="One row a check: name, passed, detail, ms.")
    ran_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"Preflight {self.ran_at:%Y-%m-%d %H:%M} {'passed' if self.passed else 'FAILED'}"

    def is_fresh(self, now=None) -> bool:
        now = now or timezone.now()
        return now - self.ran_at <= dt.timedelta(minutes=settings.PREFLIGHT_MAX_AGE_MINUTES)


# The live cycle's record and the Head of Sales' quality records live in their own
# modules; imported here so Django registers them.
from ramp.cycles import LiveCycle  # noqa: E402,F401
from ramp.quality import QualityConfirmation, QualityRubric, QualitySignoff  # noqa: E402,F401
