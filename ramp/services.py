"""Ramp operations shared by `manage.py ramp`, the admin, the API and the replay harness.

Graduation: the policy moves one cap step up (and tier_2 gets its canary
slice) only after `clean_days_required` consecutive clean supervised live
days since the last graduation or rollback, each decided "continue", with
their daily report inside the KPI floors, no queue drift and no active hold.

Decisions (recorded per live day, by a named person):
- continue: nothing changes; the day can count toward graduation.
- hold: a person hold is raised; nothing is sent until a person clears it.
- rollback: the cap goes back one step (to the ramp cap from level 1, which
  also ends the tier_2 canary), the clean-day streak restarts the next day,
  and a hold is raised so the next cycle waits for a person to confirm.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from ramp.days import operating_date, ramp_day, window_label
from ramp.gates import live_cycle_blockers
from ramp.holds import HoldError, clear_hold, raise_hold
from ramp.kpis import KpiCounts
from ramp.limits import tier_caps
from ramp.models import Hold, QueueTrace, RampDay, RampPolicy
from ramp.people import CHANGE_POLICY, CLEAR_HOLD, DECIDE_DAY, RAISE_HOLD, NotAllowed, person_with


ROLLBACK_AT_LEVEL_0 = (
    "Rollback lowers the cap one step, and at level 0 the cap is already the ramp cap: "
    "decide hold instead (nothing is sent until an operator clears it)."
)


class RampError(Exception):
    """A ramp operation was refused; the message says why."""


def _check_person(permission: str, by: str) -> str:
    """Return the user name `by` if that user may do the act, else raise RampError with why."""
    try:
        return person_with(permission, by).get_username()
    except NotAllowed as exc:
        raise RampError(str(exc)) from None


class GraduationRefused(RampError):
    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("Graduation refused: " + "; ".join(reasons))


@dataclass
class GraduationReview:
    reasons: list[str]
    streak: list[RampDay] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.reasons


def day_problems(day: RampDay, policy: RampPolicy) -> list[str]:
    """Return why `day` does not count toward graduation (empty: it counts)."""
    problems = day.cycle_problems()
    if day.decision != RampDay.Decision.CONTINUE:
        problems.append(f"decision is {day.decision or 'not recorded'}, not continue")
    problems.extend(kpi_problems(day, policy))
    return problems


def kpi_problems(day: RampDay, policy: RampPolicy) -> list[str]:
    """Return the KPI floors the day's stored report breaks (the report must exist)."""
    counts = KpiCounts.from_stored(day.kpis or {})
    if counts is None:
        return ["no daily report (run `manage.py daily_report --date %s`)" % day.date]
    return policy.kpi_problems(counts)


def graduation_review(*, today: dt.date | None = None, policy: RampPolicy | None = None) -> GraduationReview:
    """Return whether the policy may graduate now, with every reason it may not.

    1. The mode must be clean_days and a further cap step must exist.
    2. No hold may be active.
    3. The last `clean_days_required` live days (since the streak start) must
       each be clean, decided "continue" and within the KPI floors; days with
       no live run (weekends) neither count nor break the streak.
    4. No queue trace in those days may have flagged drift.
    """
    policy = policy or RampPolicy.get()
    today = today or operating_date()
    reasons: list[str] = []
    if policy.mode != RampPolicy.Mode.CLEAN_DAYS:
        reasons.append("the ramp mode is manual: change the daily cap in the policy instead")
    if policy.graduation_level >= len(policy.cap_steps or []):
        reasons.append(f"already at the last cap step ({policy.current_cap()}/day)")
    if Hold.objects.active().exists():
        reasons.append("a hold is active")
    live_days = RampDay.objects.filter(is_live=True, date__lte=today)
    if policy.streak_starts_on:
        live_days = live_days.filter(date__gte=policy.streak_starts_on)
    streak: list[RampDay] = []
    for day in live_days.order_by("-date"):
        problems = day_problems(day, policy)
        if problems:
            if len(streak) < policy.clean_days_required:
                reasons.append(f"{day.date} is not clean ({', '.join(problems)}) and breaks the streak")
            break
        streak.append(day)
        if len(streak) == policy.clean_days_required:
            break
    if len(streak) < policy.clean_days_required:
        since = f" since {policy.streak_starts_on}" if policy.streak_starts_on else ""
        reasons.append(f"{len(streak)} of {policy.clean_days_required} clean supervised live days{since}")
    elif QueueTrace.objects.filter(drift_flagged=True, taken_at__date__gte=streak[-1].date, taken_at__date__lte=today).exists():
        reasons.append("a queue trace flagged drift during the clean days")
    return GraduationReview(reasons=reasons, streak=streak)


def graduate(*, by: str, today: dt.date | None = None) -> RampPolicy:
    """Move the policy one cap step up, or raise GraduationRefused with every reason."""
    by = _check_person(CHANGE_POLICY, by)
    today = today or operating_date()
    with transaction.atomic():
        policy = RampPolicy.objects.select_for_update().get(pk=RampPolicy.get().pk)
        review = graduation_review(today=today, policy=policy)
        if not review.allowed:
            raise GraduationRefused(review.reasons)
        policy.graduation_level += 1
        policy.graduated_at = timezone.now()
        policy.streak_starts_on = today + dt.timedelta(days=1)
        policy.save(update_fields=["graduation_level", "graduated_at", "streak_starts_on", "updated_at"])
        _note(today, f"Graduated to level {policy.graduation_level} ({policy.current_cap()}/day) by {by}.")
    return policy


def decide(*, decision: str, by: str, reason: str = "", date: dt.date | None = None) -> RampDay:
    """Record the operator's decision on a live day and apply what it means (see the module docstring)."""
    if decision not in RampDay.Decision.values:
        raise RampError(f"Unknown decision {decision!r}: choose continue, hold or rollback.")
    by = _check_person(DECIDE_DAY, by)
    if decision != RampDay.Decision.CONTINUE and not reason.strip():
        raise RampError(f"A {decision} decision needs a reason.")
    if decision == RampDay.Decision.ROLLBACK and RampPolicy.get().graduation_level == 0:
        raise RampError(ROLLBACK_AT_LEVEL_0)
    with transaction.atomic():
        day = _day_to_decide(date)
        if day.decision:
            raise RampError(f"{day.date} is already decided ({day.decision} by {day.decided_by}); decisions are not rewritten.")
        day.decision, day.decided_by, day.decided_at, day.decision_reason = decision, by, timezone.now(), reason
        day.save(update_fields=["decision", "decided_by", "decided_at", "decision_reason"])
        if decision == RampDay.Decision.HOLD:
            raise_hold(reason=f"Decision for {day.date}: hold. {reason}", raised_by=by)
        elif decision == RampDay.Decision.ROLLBACK:
            policy = RampPolicy.objects.select_for_update().get(pk=RampPolicy.get().pk)
            policy.graduation_level = max(policy.graduation_level - 1, 0)
            policy.streak_starts_on = day.date + dt.timedelta(days=1)
            policy.save(update_fields=["graduation_level", "streak_starts_on", "updated_at"])
            raise_hold(
                reason=f"Decision for {day.date}: rollback to {policy.current_cap()}/day. {reason}", raised_by=by
            )
    return day


def _day_to_decide(date: dt.date | None) -> RampDay:
    if date is not None:
        day = RampDay.objects.select_for_update().filter(date=date).first()
        if day is None:
            raise RampError(f"There is no ramp day for {date}.")
        return day
    day = RampDay.objects.select_for_update().filter(is_live=True, decision="").order_by("-date").first()
    if day is None:
        raise RampError("No live day is waiting for a decision; name one with --date.")
    return day


def raise_person_hold(*, reason: str, by: str) -> Hold:
    """Raise a hold by a named person who may (an operator or the Head of Sales)."""
    by = _check_person(RAISE_HOLD, by)
    try:
        return raise_hold(reason=reason, source="person", raised_by=by)
    except HoldError as exc:
        raise RampError(str(exc)) from None


def clear(*, hold_id: int | None, by: str, reason: str) -> list[Hold]:
    """Clear one hold (by id) or, with hold_id None, every active hold; a named person and a reason are required."""
    by = _check_person(CLEAR_HOLD, by)
    holds = list(Hold.objects.active()) if hold_id is None else list(Hold.objects.filter(pk=hold_id))
    if not holds:
        raise RampError("No active hold to clear." if hold_id is None else f"There is no hold #{hold_id}.")
    try:
        return [clear_hold(hold, cleared_by=by, reason=reason) for hold in holds]
    except HoldError as exc:
        raise RampError(str(exc)) from None


def status(*, now: dt.datetime | None = None) -> dict:
    """Return the ramp state as plain data: policy, today, holds, graduation, live-cycle blockers."""
    now = now or timezone.now()
    policy = RampPolicy.get()
    today = RampDay.objects.filter(date=operating_date(now)).first()
    review = graduation_review(today=operating_date(now), policy=policy)
    return {
        "policy": {
            "mode": policy.mode,
            "current_cap": policy.current_cap(),
            "ramp_cap": policy.daily_cap,
            "per_company_daily_cap": policy.per_company_daily_cap,
            "allowed_tiers": list(policy.allowed_tiers),
            "tier_caps": tier_caps(policy),
            "graduation_level": policy.graduation_level,
            "cap_steps": list(policy.cap_steps),
            "clean_days_required": policy.clean_days_required,
            "tier2_canary_share": float(policy.tier2_canary_share),
            "window": window_label(policy),
            "streak_starts_on": policy.streak_starts_on.isoformat() if policy.streak_starts_on else None,
        },
        "today": day_summary(today) if today else {"date": operating_date(now).isoformat(), "is_live": False},
        "holds": [
            {
                "id": h.pk,
                "source": h.source,
                "reason": h.reason,
                "raised_by": h.raised_by,
                "raised_at": h.raised_at.isoformat(),
                "line": h.as_line(),
            }
            for h in Hold.objects.active()
        ],
        "graduation": {
            "allowed": review.allowed,
            "reasons": review.reasons,
            "clean_days": [d.date.isoformat() for d in review.streak],
        },
        "live_cycle_blockers": live_cycle_blockers(now=now),
    }


def day_summary(day: RampDay) -> dict:
    return {
        "date": day.date.isoformat(),
        "is_live": day.is_live,
        "cap": day.cap,
        "dispatched": day.dispatched_count,
        "sent": day.sent_count,
        "errors": day.error_count,
        "remaining": day.remaining,
        "hold_was_active": day.hold_was_active,
        "is_clean": day.is_clean,
        "owner": day.owner,
        "decision": day.decision,
        "decided_by": day.decided_by,
    }


def _note(date: dt.date, text: str) -> None:
    day = ramp_day(date)
    day.notes = f"{day.notes}\n{text}".strip()
    day.save(update_fields=["notes"])
