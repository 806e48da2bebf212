"""Ramp operations shared by `manage.py ramp`, the admin, the API and the replay harness.

Graduation: the policy moves one cap step up (and tier_2 gets its canary
slice) only after `clean_days_required` consecutive clean supervised live
days since the last graduation or rollback, each decided "continue", with
their daily report inside the KPI floors, no queue drift and no active hold,
and the Head of Sales' part of the runbook's exit criteria: a current sign-off
of the quality rubric and rejection tags and a copy-quality confirmation made
during the streak (see ramp.quality).

Decisions (recorded per live day, by a named person):
- continue: nothing changes; the day can count toward graduation.
- hold: a person hold is raised; nothing is sent until a person clears it.
- rollback: the cap goes back one step (to the ramp cap from level 1, which
  also ends the tier_2 canary), the clean-day streak restarts the next day,
  and a hold is raised so the next cycle waits for a person to confirm.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from caio.releases import gates_since_deploy
from ramp import clean, quality, stop_conditions
from ramp.cycles import LiveCycle
from ramp.days import day_bounds, operating_date, ramp_day, window_label
from ramp.gates import live_cycle_blockers
from ramp.holds import HoldError, clear_hold, raise_hold
from ramp.limits import tier_caps
from ramp.models import LIMIT_FIELDS, Hold, QueueTrace, RampDay, RampPolicy, RampPolicyChange
from ramp.people import (
    APPROVE_POLICY_CHANGE,
    CHANGE_POLICY,
    CLEAR_HOLD,
    DECIDE_DAY,
    PROPOSE_POLICY_CHANGE,
    RAISE_HOLD,
    SIGN_OFF_QUALITY,
    WRITE_RUBRIC,
    NotAllowed,
    person_with,
)
from ramp.quality import QualityConfirmation, QualityRubric, QualitySignoff


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


@dataclass(frozen=True)
class DayVerdict:
    """A live day as graduation judges it: the one per-day verdict the index, `ramp status`, the daily report,
    the ramp pages and graduation all show (each through `day_verdict`)."""

    date: dt.date
    # Facts that keep the day from counting: the streak starts again after it.
    problems: tuple[str, ...]
    # What is still to be recorded before the day can count (its decision, its report).
    waiting: tuple[str, ...] = ()

    @property
    def counts(self) -> bool:
        return not self.problems and not self.waiting

    def as_line(self) -> str:
        if self.counts:
            return f"{self.date}: counts toward graduation"
        if not self.problems:
            return f"{self.date}: counts toward graduation once {' and '.join(self.waiting)}"
        return (
            f"{self.date}: does not count toward graduation ({'; '.join(self.problems)}); "
            "the clean-day streak starts again after it"
        )


def day_verdict(day: RampDay, policy: RampPolicy | None = None) -> DayVerdict:
    """Return whether `day` counts toward graduation, and if not why, or what it still waits for.

    Whether the day was clean is ramp.clean's one rule (its run, the holds
    active in its window, its KPI limits over its stored window); graduation
    adds that a person decided it continue. A day not yet reported or decided
    is waiting, not broken.
    """
    policy = policy or RampPolicy.get()
    problems = clean.run_problems(day, policy)
    waiting = []
    if not day.decision:
        waiting.append(f"it is decided continue (`ramp decide continue --date {day.date} --token T`)")
    elif day.decision != RampDay.Decision.CONTINUE:
        problems.append(f"decided {day.decision}, not continue")
    if clean.reported(day):
        problems.extend(clean.kpi_problems(day, policy))
    else:
        waiting.append(f"its daily report is run (`manage.py daily_report --date {day.date}`)")
    return DayVerdict(date=day.date, problems=tuple(problems), waiting=tuple(waiting))


def kpi_problems(day: RampDay, policy: RampPolicy) -> list[str]:
    """The KPI limits that hold over the day's stored window (`ramp.clean.kpi_problems`)."""
    return clean.kpi_problems(day, policy)


def graduation_review(*, today: dt.date | None = None, policy: RampPolicy | None = None) -> GraduationReview:
    """Return whether the policy may graduate now, with every reason it may not.

    1. The mode must be clean_days and a further cap step must exist.
    2. No hold may be active.
    3. The last `clean_days_required` live days (since the streak start) must
       each be clean, decided "continue" and within the KPI floors; days with
       no live run (weekends) neither count nor break the streak.
    4. No queue trace in those days may have flagged drift.
    5. The Head of Sales' sign-off of the quality rubric and rejection tags must
       name their current versions, and the Head of Sales must have confirmed
       copy quality stable during this clean streak at this level, after that
       sign-off (ramp.quality says when each stops counting).
    6. Replay and a smoke of this instance must have passed since the last
       deploy (caio.releases): the runbook's "green after the latest deploy".
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
    run, breaker = clean_run(policy=policy, today=today)
    streak = run[: policy.clean_days_required]
    if breaker is not None and len(run) < policy.clean_days_required:
        # The day's own verdict line, as every page shows it, and what clears it.
        needed = policy.clean_days_required - len(run)
        reasons.append(
            breaker.as_line()
            if not breaker.problems
            else f"{breaker.as_line()}: it breaks the streak, and {needed} more clean live day(s) after it clear it"
        )
    if len(streak) < policy.clean_days_required:
        since = f" since {policy.streak_starts_on}" if policy.streak_starts_on else ""
        reasons.append(f"{len(streak)} of {policy.clean_days_required} clean supervised live days{since}")
    else:
        reasons.extend(drift_problems(streak, today=today, needed=policy.clean_days_required))
    reasons.extend(quality_problems(policy=policy, run=run))
    reasons.extend(gates_since_deploy())
    return GraduationReview(reasons=reasons, streak=streak)


def drift_problems(streak: list[RampDay], *, today: dt.date, needed: int) -> list[str]:
    """Name each operating day of the streak on which a queue trace flagged drift, its flags and what clears it."""
    start, _ = day_bounds(streak[-1].date)
    _, end = day_bounds(today)
    flagged = QueueTrace.objects.filter(drift_flagged=True, taken_at__gte=start, taken_at__lt=end).order_by("taken_at")
    by_day: dict[dt.date, QueueTrace] = {}
    for trace in flagged:
        by_day.setdefault(operating_date(trace.taken_at), trace)
    return [
        f"a queue trace flagged drift on {date} ({trace.taken_at:%H:%M} UTC: {'; '.join((trace.drift or {}).get('flags', [])[:3]) or 'see Ramp › Queue traces'}): "
        f"find what changed the queue, then {needed} clean live days after {date} clear it"
        for date, trace in by_day.items()
    ]


def clean_run(*, policy: RampPolicy, today: dt.date) -> tuple[list[RampDay], DayVerdict | None]:
    """Return the unbroken run of clean live days up to `today` (newest first) and the verdict of the day that ended it.

    The run's oldest day is the day the current streak began: a copy-quality
    confirmation counts for that streak only.
    """
    since = policy.streak_starts_on or dt.date.min
    dates = set(RampDay.objects.filter(is_live=True, date__gte=since, date__lte=today).values_list("date", flat=True))
    # A day whose cycles a hold refused had no live run, but was stopped by the hold: it breaks the streak.
    dates |= set(LiveCycle.objects.filter(date__gte=since, date__lte=today).values_list("date", flat=True))
    stored = {day.date: day for day in RampDay.objects.filter(date__in=dates)}
    run: list[RampDay] = []
    for date in sorted(dates, reverse=True):
        day = stored.get(date) or RampDay(date=date)
        if not clean.counts_toward_streak(day, policy):
            continue
        verdict = day_verdict(day, policy)
        if not verdict.counts:
            return run, verdict
        run.append(day)
    return run, None


def quality_problems(*, policy: RampPolicy, run: list[RampDay]) -> list[str]:
    """The Head of Sales' part of the exit criteria, as graduation's reasons (worded in ramp.quality)."""
    signoff = quality.signoff_state()
    confirmation = quality.confirmation_state(
        level=policy.graduation_level, streak_began=run[-1].date if run else None, signoff=signoff
    )
    return [*signoff.problems, *confirmation.problems]


def sign_off_quality(
    *, by: str, rubric_version: int | None = None, taxonomy_version: str | None = None, apply: bool = True
) -> QualitySignoff:
    """Record the Head of Sales' sign-off of the current rubric and rejection tags.

    `rubric_version` and `taxonomy_version`, when given, are the versions the
    person read: if either changed since, the sign-off is refused rather than
    recorded for a text they did not see. With `apply` False nothing is
    recorded: the unsaved sign-off shows what would be (the terminal's dry run).
    """
    by = _check_person(SIGN_OFF_QUALITY, by)
    state = quality.signoff_state()
    if state.rubric is None:
        raise RampError("There is no quality rubric to sign off: write one in the admin first.")
    if not state.taxonomy.tags:
        raise RampError("There are no usable rejection tags to sign off: add or reactivate one first.")
    if rubric_version is not None and rubric_version != state.rubric.version:
        raise RampError(f"The quality rubric changed while you read it (v{rubric_version} read, v{state.rubric.version} now): read it again.")
    if taxonomy_version is not None and taxonomy_version != state.taxonomy.version:
        raise RampError(f"The rejection tags changed while you read them ({taxonomy_version} read, {state.taxonomy.version} now): read them again.")
    signoff = QualitySignoff(
        signed_by=by,
        signed_at=timezone.now(),
        rubric_version=state.rubric.version,
        taxonomy_version=state.taxonomy.version,
        taxonomy_tags=list(state.taxonomy.tags),
    )
    if apply:
        signoff.save()
    return signoff


def confirm_copy_quality(*, by: str, today: dt.date | None = None, note: str = "", apply: bool = True) -> QualityConfirmation:
    """Record the Head of Sales' confirmation that copy quality is stable, for the current clean streak and level
    (with `apply` False, only check that it would be recorded and return it unsaved)."""
    by = _check_person(SIGN_OFF_QUALITY, by)
    policy = RampPolicy.get()
    signoff = quality.signoff_state()
    if not signoff.current:
        raise RampError("Sign off the quality rubric and rejection tags first: " + "; ".join(signoff.problems) + ".")
    run, _ = clean_run(policy=policy, today=today or operating_date())
    if not run:
        raise RampError(
            f"There is no clean supervised live day at level {policy.graduation_level} yet: "
            "copy quality is confirmed for a clean streak, once its first day is decided."
        )
    confirmation = QualityConfirmation(
        confirmed_by=by,
        confirmed_at=timezone.now(),
        graduation_level=policy.graduation_level,
        streak_began=run[-1].date,
        note=note.strip(),
    )
    if apply:
        confirmation.save()
    return confirmation


def check_rubric_text(text: str) -> str:
    """Return the rubric text as it would be stored, or raise RampError if it is empty or the current version's text."""
    text = text.strip()
    if not text:
        raise RampError("The quality rubric needs its text.")
    latest = QualityRubric.current()
    if latest is not None and latest.text.strip() == text:
        raise RampError(f"This is the text of rubric v{latest.version} already: nothing changed.")
    return text


def write_rubric(*, text: str, by: str) -> QualityRubric:
    """Add the next version of the quality rubric (a version is never edited, so a sign-off names the text it read)."""
    by = _check_person(WRITE_RUBRIC, by)
    with transaction.atomic():
        latest = QualityRubric.objects.select_for_update().order_by("-version").first()
        text = check_rubric_text(text)
        return QualityRubric.objects.create(version=(latest.version if latest else 0) + 1, text=text, written_by=by)


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


# How the ramp widens, said by every refusal of a wider policy.
WIDENING_HOW = (
    "widening happens only by graduation, or by a two-person change that an operator proposes "
    "under Ramp policy changes and the Head of Sales approves"
)
# What the policy form and change_policy may set; the graduation fields move only by graduate() and decide().
POLICY_FORM_FIELDS = (*LIMIT_FIELDS, "mode", "window_start", "window_end")


class PolicyWidening(RampError):
    """A change would widen sending outside graduation or a two-person change."""

    def __init__(self, widenings: list[str]) -> None:
        self.widenings = widenings
        super().__init__(f"This widens sending ({'; '.join(widenings)}): {WIDENING_HOW}.")


def policy_with(policy: RampPolicy, values: dict, *, fields=POLICY_FORM_FIELDS) -> RampPolicy:
    """Return a copy of `policy` with `values` set (each through its field, so text from JSON becomes a decimal or time)."""
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise RampError(f"{', '.join(unknown)} cannot be set here: only {', '.join(fields)}.")
    candidate = copy.copy(policy)
    for name, value in values.items():
        setattr(candidate, name, RampPolicy._meta.get_field(name).to_python(value))
    return candidate


def check_policy_change(policy: RampPolicy, values: dict) -> RampPolicy:
    """Return the policy as `values` would leave it, or raise PolicyWidening if it would widen sending."""
    candidate = policy_with(policy, values)
    widened = candidate.widenings(policy)
    if widened:
        raise PolicyWidening(widened)
    return candidate


def change_policy(*, by: str, values: dict) -> RampPolicy:
    """Apply a change to the policy that widens nothing; narrowing takes effect at once.

    1. The person must hold the policy permission.
    2. Under the policy's row lock, RampPolicy.widenings judges the change
       against the stored policy; any widening is refused (PolicyWidening).
    3. The changed fields are saved and today's cap comes down to the new one.
    """
    _check_person(CHANGE_POLICY, by)
    with transaction.atomic():
        policy = RampPolicy.objects.select_for_update().get(pk=RampPolicy.get().pk)
        candidate = check_policy_change(policy, values)
        changed = [name for name in values if getattr(candidate, name) != getattr(policy, name)]
        if changed:
            candidate.save(update_fields=[*changed, "updated_at"])
            _narrow_today(candidate)
    return candidate


def proposal_changes(policy: RampPolicy, values: dict) -> dict[str, list]:
    """Return what a proposal would change ({setting: [now, asked]}), or raise RampError if it widens nothing."""
    candidate = policy_with(policy, values, fields=LIMIT_FIELDS)
    if not candidate.widenings(policy):
        raise RampError("This change widens nothing: save it in the ramp policy, where narrowing takes effect at once.")
    before, after = policy.limit_values(), candidate.limit_values()
    return {name: [before[name], after[name]] for name in LIMIT_FIELDS if before[name] != after[name]}


def propose_policy_change(*, by: str, values: dict, reason: str) -> RampPolicyChange:
    """Record an operator's proposal to widen the policy; nothing changes until the Head of Sales approves it."""
    by = _check_person(PROPOSE_POLICY_CHANGE, by)
    if not reason.strip():
        raise RampError("A proposed change needs a reason: say why the ramp should widen now.")
    changes = proposal_changes(RampPolicy.get(), values)
    return RampPolicyChange.objects.create(changes=changes, reason=reason.strip(), proposed_by=by)


def approve_policy_change(*, change_id: int, by: str, note: str = "") -> RampPolicyChange:
    """Apply a proposed change as its second person, the Head of Sales.

    1. `by` must hold the approval permission and must not be the proposer.
    2. The change must still be proposed, and the policy must still have the
       values it was proposed against (else it is refused: propose again).
    3. The asked values are saved, the change is recorded approved, and today's
       cap follows the policy (a change that narrows a setting narrows at once).
    """
    by = _check_person(APPROVE_POLICY_CHANGE, by)
    with transaction.atomic():
        change = _open_change(change_id)
        if change.proposed_by == by:
            raise RampError(
                f"A two-person change needs a second person: {by} proposed change #{change.pk} and may not approve it."
            )
        policy = RampPolicy.objects.select_for_update().get(pk=RampPolicy.get().pk)
        current = policy.limit_values()
        moved = [name for name, (then, _) in change.changes.items() if current[name] != then]
        if moved:
            raise RampError(
                f"The policy changed since change #{change.pk} was proposed ({', '.join(moved)}): reject it and propose again."
            )
        candidate = policy_with(policy, {name: asked for name, (_, asked) in change.changes.items()}, fields=LIMIT_FIELDS)
        candidate.save(update_fields=[*change.changes, "updated_at"])
        _narrow_today(candidate)
        change.status, change.decided_by, change.decided_at, change.decision_note = (
            RampPolicyChange.Status.APPROVED, by, timezone.now(), note.strip(),
        )
        change.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return change


def reject_policy_change(*, change_id: int, by: str, note: str) -> RampPolicyChange:
    """Record the Head of Sales' refusal of a proposed change, with why; the policy is untouched."""
    by = _check_person(APPROVE_POLICY_CHANGE, by)
    if not note.strip():
        raise RampError("A rejection needs a note: say why the ramp should not widen.")
    with transaction.atomic():
        change = _open_change(change_id)
        change.status, change.decided_by, change.decided_at, change.decision_note = (
            RampPolicyChange.Status.REJECTED, by, timezone.now(), note.strip(),
        )
        change.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return change


def _open_change(change_id: int) -> RampPolicyChange:
    change = RampPolicyChange.objects.select_for_update().filter(pk=change_id).first()
    if change is None:
        raise RampError(f"There is no ramp policy change #{change_id}.")
    if change.status != RampPolicyChange.Status.PROPOSED:
        raise RampError(f"Change #{change.pk} is already {change.status} by {change.decided_by}.")
    return change


def _narrow_today(policy: RampPolicy) -> None:
    """Bring today's cap down to the policy's, so a narrower policy holds for the rest of the day too."""
    RampDay.objects.filter(date=operating_date(), cap__gt=policy.current_cap()).update(cap=policy.current_cap())


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
            _narrow_today(policy)
            raise_hold(
                reason=f"Decision for {day.date}: rollback to {policy.current_cap()}/day. {reason}", raised_by=by
            )
    return day


def signals_entered(day: RampDay, *, changed: list[str], by: str) -> list[Hold]:
    """Judge the stop conditions on the figures a person just saved on `day` (saved in the caller's transaction).

    A day's complaints copied from GHL's reporting are evidence like GHL's
    webhook: judged now by the same function (`stop_conditions.evidence_landed`),
    and the day's verdict restated; opens and meetings are not evidence.
    """
    if "reported_complaints" not in changed:
        return []
    landed = f"{by}'s entry of {day.reported_complaints} complaint(s) about {day.date}'s emails"
    return stop_conditions.evidence_landed(landed=landed, send_day=day.date)


def _day_to_decide(date: dt.date | None) -> RampDay:
    if date is not None:
        day = RampDay.objects.select_for_update().filter(date=date).first()
        if day is None:
            raise RampError(f"There is no ramp day for {date}.")
        if not day.is_live:
            raise RampError(f"{date} had no live run: there is nothing to decide (raise a hold to stop sending).")
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
        "stop_settings": policy.stop_settings(),
        "graduation": {
            "allowed": review.allowed,
            "reasons": review.reasons,
            "clean_days": [d.date.isoformat() for d in review.streak],
            "days": [day_verdict(day, policy).as_line() for day in recent_live_days(policy=policy, today=operating_date(now))],
        },
        "quality": quality_summary(policy=policy, today=operating_date(now)),
        "live_cycle_blockers": live_cycle_blockers(now=now),
    }


def quality_summary(*, policy: RampPolicy, today: dt.date) -> dict:
    """The Head of Sales' records as the ramp page and `ramp status` show them: what is in force, and why not."""
    signoff = quality.signoff_state()
    run, _ = clean_run(policy=policy, today=today)
    confirmation = quality.confirmation_state(
        level=policy.graduation_level, streak_began=run[-1].date if run else None, signoff=signoff
    )
    return {
        "rubric_version": signoff.rubric.version if signoff.rubric else None,
        "taxonomy_version": signoff.taxonomy.version,
        "taxonomy_tags": list(signoff.taxonomy.tags),
        "signoff": signoff.signoff.as_line() if signoff.signoff else None,
        "signoff_current": signoff.current,
        "confirmation": confirmation.confirmation.as_line() if confirmation.confirmation else None,
        "confirmation_current": confirmation.current,
        "problems": [*signoff.problems, *confirmation.problems],
    }


def recent_live_days(*, policy: RampPolicy, today: dt.date, limit: int = 10) -> list[RampDay]:
    """The live days the verdict lists show, newest first: since the streak start, at most `limit`."""
    days = RampDay.objects.filter(is_live=True, date__lte=today)
    if policy.streak_starts_on:
        days = days.filter(date__gte=policy.streak_starts_on)
    return list(days.order_by("-date")[:limit])


def day_summary(day: RampDay) -> dict:
    verdict = day_verdict(day)
    return {
        "date": day.date.isoformat(),
        "is_live": day.is_live,
        "cap": day.cap,
        "dispatched": day.dispatched_count,
        "sent": day.sent_count,
        "errors": day.error_count,
        "remaining": day.remaining,
        "hold_was_active": day.hold_was_active,
        "is_clean": clean.is_clean(day),
        "counts_toward_graduation": verdict.counts,
        "verdict": verdict.as_line(),
        "owner": day.owner,
        "decision": day.decision,
        "decided_by": day.decided_by,
    }


def _note(date: dt.date, text: str) -> None:
    day = ramp_day(date)
    day.notes = f"{day.notes}\n{text}".strip()
    day.save(update_fields=["notes"])
