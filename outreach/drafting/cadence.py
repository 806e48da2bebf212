"""The cadence engine: draft each enrollment's next step when it is due.

Rules (each one is a test in tests/pipeline/test_cadence.py):
- Step n+1 is drafted only after step n was actually sent (a card of step n in
  status `sent`) and `sent_at + step(n+1).delay_days <= now`.
- An enrollment stops when a never-sendable lead rule of the eligibility
  module holds its lead (`outreach.eligibility.LEAD_RULES`: do-not-contact,
  unsubscribed, bounced, excluded domain, replied), under that rule's code; it
  waits, drafting nothing, while a rule that waits for a person and blocks
  drafting holds it (an identity collision); under a look-alike domain it drafts,
  and the card waits on the desk for the lead's confirmation. It also stops when its current step's card ended
  rejected or failed (the decision stands: the engine never redrafts on its own).
- After the last step was sent the enrollment is completed.
- A lead is never in two active enrollments of one campaign (DB constraint),
  and the enrollment advances by compare-and-set, so two ticks at once draft
  a step once.

`cadence_tick` is called by `manage.py cadence_tick` and by the scheduled RQ
job in outreach/jobs.py.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from outreach import eligibility
from outreach.checks import load_excluded_domains
from outreach.drafting.drafters import DEFAULT_DRAFTER, Drafter
from outreach.drafting.model import drafter_for
from outreach.models import CadenceStep, Campaign, CardStatus, Enrollment, PendingEmail
from outreach.drafting.pipeline import DraftStats, draft_cards, drafted_line, is_canary_lane
from outreach.transitions import record_drafted
from ramp.days import day_bounds, operating_date
from ramp.models import RampPolicy

# Who the creation of a follow-up card is recorded under (outreach.transitions.record_drafted).
CADENCE_LABEL = "cadence_tick"

Status = Enrollment.Status

@dataclass
class TickReport(DraftStats):
    applied: bool = False
    stopped: Counter = field(default_factory=Counter)
    completed: int = 0
    seconds_total: float = 0.0

    def as_dict(self) -> dict:
        return {
            "applied": self.applied,
            "drafted": len(self.drafted),
            "card_ids": self.drafted if self.applied else [],
            "stopped": dict(sorted(self.stopped.items())),
            "completed": self.completed,
            "waiting": dict(sorted(self.skipped.items())),
            "errors": [error.__dict__ for error in self.errors],
            "seconds": round(self.seconds_total, 3),
        }


def with_current_step_card(enrollments: QuerySet) -> QuerySet:
    """Annotate enrollments with their current step's latest card: status, shadow flag, and sent_at if sent."""
    cards = PendingEmail.objects.filter(
        lead_id=OuterRef("lead_id"), campaign_id=OuterRef("campaign_id"), step__number=OuterRef("current_step")
    )
    latest = cards.order_by("-created_at", "-pk")
    return enrollments.annotate(
        step_card_status=Subquery(latest.values("status")[:1]),
        step_card_shadow=Subquery(latest.values("is_shadow")[:1]),
        step_sent_at=Subquery(cards.filter(status=CardStatus.SENT).order_by("sent_at").values("sent_at")[:1]),
    )


def stop_enrollments_of_finished_leads(now: datetime) -> Counter:
    """Stop active enrollments whose lead must never get another email; return counts by rule code.

    The never-sendable lead rules of `eligibility.LEAD_RULES`, in their order; each is one UPDATE.
    """
    stopped: Counter = Counter()
    for rule in eligibility.LEAD_RULES:
        if not rule.never_sendable:
            continue
        reason = rule.code
        ids = Enrollment.objects.filter(status=Status.ACTIVE).filter(rule.where("lead__")).values("pk")
        count = Enrollment.objects.filter(pk__in=ids, status=Status.ACTIVE).update(
            status=Status.STOPPED, stop_reason=reason, stopped_at=now
        )
        if count:
            stopped[reason] += count
    return stopped


def _steps_by_campaign(campaign_ids) -> dict[int, dict[int, CadenceStep]]:
    steps: dict[int, dict[int, CadenceStep]] = defaultdict(dict)
    for step in CadenceStep.objects.filter(campaign_id__in=campaign_ids).select_related("campaign"):
        steps[step.campaign_id][step.number] = step
    return steps


def cadence_tick(*, now: datetime | None = None, drafter: Drafter = DEFAULT_DRAFTER, apply: bool = False) -> TickReport:
    """Advance every active enrollment that is due.

    1. Stop enrollments of leads a never-sendable lead rule holds (eligibility.LEAD_RULES).
    2. For each active enrollment, look at its current step's card:
       sent and the next step's delay passed -> draft the next step;
       sent and no next step -> completed; sent but not yet due -> record next_due_at;
       rejected/failed -> stopped; anything else -> wait for review or dispatch.
    3. Draft the due steps in batches (draft + footer + checks, as the pipeline)
       and save each card with a compare-and-set advance of its enrollment.
    Without `apply` the same steps run inside a transaction that is rolled back.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    report = TickReport(applied=apply)
    rollback = contextlib.nullcontext() if apply else transaction.atomic()
    with rollback:
        report.stopped.update(stop_enrollments_of_finished_leads(now))
        excluded = load_excluded_domains()
        active = list(
            eligibility.with_lead_reason(
                with_current_step_card(Enrollment.objects.filter(status=Status.ACTIVE)), lead_prefix="lead__", drafting=True
            ).select_related("lead", "campaign")
        )
        steps = _steps_by_campaign({enrollment.campaign_id for enrollment in active})
        due: dict[tuple[int, int], list[Enrollment]] = defaultdict(list)
        for enrollment in active:
            next_step = _classify(enrollment, steps[enrollment.campaign_id], now=now, report=report)
            if next_step is not None:
                due[(enrollment.campaign_id, next_step.number)].append(enrollment)
        for (campaign_id, number), enrollments in due.items():
            _draft_step(enrollments, steps[campaign_id][number], drafter=drafter, excluded=excluded, report=report)
        if not apply:
            transaction.set_rollback(True)
    report.seconds_total = time.perf_counter() - started
    return report


def _stop(enrollment: Enrollment, reason: str, now: datetime, report: TickReport) -> None:
    changed = Enrollment.objects.filter(pk=enrollment.pk, status=Status.ACTIVE).update(
        status=Status.STOPPED, stop_reason=reason[:64], stopped_at=now
    )
    if changed:
        report.stopped[reason] += 1


def _classify(enrollment: Enrollment, steps: dict[int, CadenceStep], *, now: datetime, report: TickReport):
    """Return the step to draft now for `enrollment`, or None (after recording why not)."""
    current = enrollment.current_step
    held = getattr(enrollment, eligibility.LEAD_REASON)
    if held != eligibility.ELIGIBLE:
        # A rule that waits for a person (the never-sendable ones stopped the enrollment above).
        report.skipped[held] += 1
        return None
    if current == 0:
        return steps.get(1)
    if enrollment.step_sent_at is None:
        status = enrollment.step_card_status
        if status in CardStatus.ENDED_UNSENT:
            _stop(enrollment, f"step_{current}_{status}", now, report)
        elif status is None:
            report.skipped[f"no card for step {current}"] += 1
        else:
            report.skipped[f"step {current} {status}"] += 1
        return None
    next_step = steps.get(current + 1)
    if next_step is None:
        if Enrollment.objects.filter(pk=enrollment.pk, status=Status.ACTIVE).update(status=Status.COMPLETED, next_due_at=None):
            report.completed += 1
        return None
    due_at = enrollment.step_sent_at + timedelta(days=next_step.delay_days)
    if due_at > now:
        if enrollment.next_due_at != due_at:
            Enrollment.objects.filter(pk=enrollment.pk).update(next_due_at=due_at)
        report.skipped[f"step {next_step.number} not due yet"] += 1
        return None
    return next_step


def _draft_step(enrollments: list[Enrollment], step: CadenceStep, *, drafter: Drafter, excluded, report: TickReport) -> None:
    """Draft `step` for the enrollments and save each card with its enrollment's advance."""
    cards = []
    canary = is_canary_lane(step.campaign, RampPolicy.get())
    # A follow-up keeps its sequence's lane: a shadow sequence stays shadow, and
    # a production one of a tier sent only through the canary share stays canary.
    for shadow in (False, True):
        lane = [enrollment for enrollment in enrollments if bool(enrollment.step_card_shadow) == shadow]
        if lane:
            cards += draft_cards(
                [(enrollment.lead, enrollment) for enrollment in lane],
                campaign=step.campaign,
                step=step,
                drafter=drafter_for(step, drafter),
                shadow=shadow,
                excluded_domains=excluded,
                stats=report,
                canary=canary and not shadow,
            )
    started = time.perf_counter()
    for card, enrollment in cards:
        try:
            with transaction.atomic():
                # Compare-and-set: only the tick that moves current_step saves the card.
                advanced = Enrollment.objects.filter(
                    pk=enrollment.pk, status=Status.ACTIVE, current_step=step.number - 1
                ).update(current_step=step.number, next_due_at=None)
                if not advanced:
                    report.skipped["advanced by another tick"] += 1
                    continue
                card.save()
                record_drafted([card], actor_label=CADENCE_LABEL)
            report.drafted.append(card.pk)
            report.drafted_for.append(drafted_line(card))
        except IntegrityError:
            report.skipped["card already drafted"] += 1
    report.seconds_writing += time.perf_counter() - started


@dataclass
class StepStats:
    number: int
    delay_days: int
    enrolled: int = 0
    due_today: int = 0
    drafted: int = 0
    sent: int = 0
    replied: int = 0


def step_stats(campaign: Campaign, *, now: datetime | None = None) -> list[StepStats]:
    """Return per-step counts for a campaign.

    enrolled: active enrollments whose last drafted step is this one;
    due today: active enrollments whose next step is this one and falls due
    before the end of today's operating day; drafted/sent: cards of the step;
    replied: enrollments stopped by a reply while at this step.
    """
    now = now or timezone.now()
    _start, end_of_today = day_bounds(operating_date(now))
    stats = {step.number: StepStats(step.number, step.delay_days) for step in campaign.steps.all()}
    for row in (
        PendingEmail.objects.filter(campaign=campaign)
        .values("step__number")
        .annotate(total=Count("pk"), sent=Count("pk", filter=Q(status=CardStatus.SENT)))
    ):
        if row["step__number"] in stats:
            stats[row["step__number"]].drafted = row["total"]
            stats[row["step__number"]].sent = row["sent"]
    for row in (
        Enrollment.objects.filter(campaign=campaign)
        .values("current_step")
        .annotate(
            active=Count("pk", filter=Q(status=Status.ACTIVE)),
            replied=Count("pk", filter=Q(status=Status.STOPPED, stop_reason="replied")),
        )
    ):
        if row["current_step"] in stats:
            stats[row["current_step"]].enrolled = row["active"]
            stats[row["current_step"]].replied = row["replied"]
    active = with_current_step_card(Enrollment.objects.filter(campaign=campaign, status=Status.ACTIVE)).filter(
        Q(current_step=0) | Q(step_sent_at__isnull=False)
    )
    for enrollment in active.only("pk", "current_step"):
        following = stats.get(enrollment.current_step + 1)
        if following is None:
            continue
        if enrollment.current_step == 0 or enrollment.step_sent_at + timedelta(days=following.delay_days) < end_of_today:
            following.due_today += 1
    return [stats[number] for number in sorted(stats)]
