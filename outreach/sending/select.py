"""Selection and claim: which approved cards a cycle may send now, and the live claim.

`dry_run` and `start_live_cycle` walk the same selection (`plan`): the dry run
only reads, the live cycle runs it under today's RampDay lock. A card's own
reasons come from `outreach.eligibility` (the same verdict the desk, the
commands and the API give); the ramp's arithmetic (daily cap, tier_2 canary
share, per-company cap) from `ramp.limits.plan_claims`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

import redis
from django.db import transaction
from django.utils import timezone

from outreach import eligibility
from outreach.models import CardStatus, PendingEmail
from outreach.sending import cycles
from outreach.sending.gates import DispatchRefused, gate_blockers
from outreach.sending.claims import release
from outreach.sending.queue import enqueue_card, redis_error
from outreach.transitions import StateChanged, transition
from ramp import counters
from ramp.days import claim_bounds, claim_date, ramp_day
from ramp.limits import CAP_REACHED, Candidate, effective_cap, plan_claims, tier_caps
from ramp.models import Hold, RampDay, RampPolicy

logger = logging.getLogger(__name__)

# The verdict of an eligible card the day's caps leave for another cycle.
RAMP_LIMIT = "ramp_limit"
# The verdict of a selected card someone else moved before the claim.
CHANGED_MEANWHILE = "changed_meanwhile"


class EnqueueFailed(Exception):
    """Claimed cards could not be handed to the workers; they were released back to approved."""

    def __init__(self, message: str, released: list[int]) -> None:
        self.released = released
        super().__init__(message)


# ---------------------------------------------------------------------------
# Selection (shared by the dry run and the live claim)


@dataclass
class CardLine:
    """One approved card as the selection sees it."""

    pk: int
    code: str
    email: str
    domain: str
    tier: str
    subject: str
    # "eligible", the code of the first eligibility rule holding it back, or
    # RAMP_LIMIT when only the day's caps hold it back.
    verdict: str = eligibility.ELIGIBLE
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, card: PendingEmail) -> CardLine:
        return cls(
            pk=card.pk,
            code=card.code.hex,
            email=card.lead.email,
            domain=card.lead.domain,
            tier=card.lead.tier,
            subject=card.subject,
        )

    def as_dict(self) -> dict:
        return {
            "pk": self.pk,
            "code": self.code,
            "email": self.email,
            "domain": self.domain,
            "tier": self.tier,
            "subject": self.subject,
            "verdict": self.verdict,
            "reasons": self.reasons,
        }


@dataclass
class DispatchPlan:
    """What a cycle would claim now, and for every other approved card why not."""

    date: dt.date
    cap: int
    dispatched_count: int
    limit: int | None
    selected: list[CardLine]
    held_back: list[CardLine]
    blockers: list[str]

    @property
    def remaining(self) -> int:
        return max(self.cap - self.dispatched_count, 0)

    @property
    def would_send(self) -> list[CardLine]:
        """The cards that would go out now: none while any gate is red."""
        return [] if self.blockers else self.selected

    def as_dict(self) -> dict:
        return {
            "date": self.date.isoformat(),
            "cap": self.cap,
            "dispatched_count": self.dispatched_count,
            "remaining": self.remaining,
            "limit": self.limit,
            "blockers": self.blockers,
            "would_send": [line.as_dict() for line in self.would_send],
            "eligible_when_gates_pass": [line.as_dict() for line in self.selected],
            "held_back": [line.as_dict() for line in self.held_back],
        }


def _claimed_today(policy: RampPolicy, date: dt.date) -> tuple[Counter, Counter]:
    """Count the cards claimed for the operating day `date` (its window's day, `ramp.days.claim_bounds`)
    per lead domain and per tier (released cards excluded)."""
    start, end = claim_bounds(policy, date)
    rows = PendingEmail.objects.filter(
        queued_at__gte=start,
        queued_at__lt=end,
        status__in=CardStatus.CLAIMED,
    ).values_list("lead__domain", "lead__tier")
    domains: Counter = Counter()
    tiers: Counter = Counter()
    for domain, tier in rows:
        domains[domain.lower()] += 1
        tiers[tier] += 1
    return domains, tiers


def plan(*, day: RampDay, policy: RampPolicy, now: dt.datetime, limit: int | None, blockers: list[str]) -> DispatchPlan:
    """Select, in order, the approved cards a cycle may claim within the caps.

    Each card's own reasons come from its eligibility verdict; the ramp's arithmetic
    (daily cap, tier_2 canary share, per-company cap) from ramp.limits.plan_claims,
    which the replay harness applies too.
    """
    cap = effective_cap(day.cap, policy)
    remaining = max(cap - day.dispatched_count, 0)
    budget = remaining if limit is None else min(remaining, max(limit, 0))
    claimed_domains, claimed_tiers = _claimed_today(policy, day.date)

    held_back: list[CardLine] = []
    eligible: dict[int, CardLine] = {}
    candidates: list[Candidate] = []
    conditions = eligibility.Conditions.current(now)
    for verdict in eligibility.judge_queue(conditions, statuses=[CardStatus.APPROVED]):
        card = verdict.card
        line = CardLine.of(card)
        line.reasons = verdict.lines()
        line.verdict = verdict.reason
        if line.reasons:
            held_back.append(line)
            continue
        eligible[card.pk] = line
        candidates.append(Candidate(key=card.pk, tier=card.lead.tier, domain=card.lead.domain))

    claims = plan_claims(
        candidates,
        remaining=budget,
        per_company_cap=policy.per_company_daily_cap,
        tier_caps=tier_caps(policy),
        sent_by_domain=claimed_domains,
        sent_by_tier=claimed_tiers,
    )
    selected = [eligible[candidate.key] for candidate in claims.selected]
    for candidate, why in claims.skipped:
        line = eligible[candidate.key]
        if why == CAP_REACHED and budget < remaining:
            why = f"beyond --limit {limit}"
        elif why == CAP_REACHED:
            # Counted with this cycle's own choices: "0 of 5 claimed" alone read as room to spare.
            why = (
                f"over today's cap of {cap}: {day.dispatched_count} claimed earlier today "
                f"and {len(claims.selected)} chosen in this cycle"
            )
        line.reasons.append(why)
        line.verdict = RAMP_LIMIT
        held_back.append(line)
    if blockers:
        for line in selected:
            line.reasons = [f"blocked: {blocker}" for blocker in blockers]
    return DispatchPlan(
        date=day.date,
        cap=cap,
        dispatched_count=day.dispatched_count,
        limit=limit,
        selected=selected,
        held_back=held_back,
        blockers=blockers,
    )


def dry_run(now: dt.datetime | None = None, *, limit: int | None = None, check_redis: bool = True) -> DispatchPlan:
    """Return what a live cycle would send now and why every other approved card would not.

    Reads only: today's RampDay and the policy are not created if missing.
    """
    now = now or timezone.now()
    policy = RampPolicy.objects.filter(pk=1).first() or RampPolicy()
    date = claim_date(policy, now)
    day = RampDay.objects.filter(date=date).first() or RampDay(date=date, cap=policy.current_cap())
    blockers = gate_blockers(now=now, check_redis=check_redis)
    return plan(day=day, policy=policy, now=now, limit=limit, blockers=blockers)


# ---------------------------------------------------------------------------
# The live claim


@dataclass
class CycleResult:
    date: dt.date
    cap: int
    dispatched_before: int
    claimed: list[CardLine]
    held_back: list[CardLine]
    enqueue_failed: list[int] = field(default_factory=list)
    enqueue_error: str = ""
    # The cycle's stored record (ramp.cycles.LiveCycle).
    record_id: int | None = None

    @property
    def dispatched_after(self) -> int:
        return self.dispatched_before + len(self.claimed) - len(self.enqueue_failed)

    def as_dict(self) -> dict:
        return {
            "date": self.date.isoformat(),
            "cap": self.cap,
            "dispatched_before": self.dispatched_before,
            "dispatched_after": self.dispatched_after,
            "claimed": [line.as_dict() for line in self.claimed],
            "held_back": [line.as_dict() for line in self.held_back],
        }


def start_live_cycle(*, operator, limit: int | None = None, now: dt.datetime | None = None) -> CycleResult:
    """Claim up to today's remaining cap of approved cards and enqueue one job each.

    1. Refuse (DispatchRefused, every reason) without the permission, with any
       gate red (holds, preflight, ...) or with Redis down. Callers run
       `gates.live_gates` first, which runs a preflight when none is fresh.
    2. In one transaction: lock today's RampDay, re-check for a hold, select the
       eligible cards within the remaining cap, per-company cap and --limit,
       move each approved -> queued (compare-and-set), and add them to the
       day's claims (ramp.counters), marking the day live with its owner.
    3. On commit, enqueue one job per card (job id from the card code, payload
       the primary key). Cards whose job could not be enqueued are released
       back to approved and EnqueueFailed is raised.
    4. Record the cycle (ramp.cycles.LiveCycle): refused with every reason,
       or claimed with its gates, cards and held-back reasons, in the claim's
       transaction (outreach.sending.cycles settles its outcome later).
    """
    now = now or timezone.now()
    username = operator.get_username()
    reasons = gate_blockers(operator=operator, now=now)
    if reasons:
        cycles.record_refused(operator=username, now=now, reasons=reasons)
        raise DispatchRefused(reasons)
    try:
        result = _claim(operator=operator, username=username, limit=limit, now=now)
    except DispatchRefused as exc:
        # Refused inside the claim's transaction, which rolled back: the record is written after it.
        cycles.record_refused(operator=username, now=now, reasons=exc.reasons)
        raise
    logger.info("Live cycle by %s claimed %d card(s) for %s", username, len(result.claimed), result.date)
    if result.enqueue_failed and not transaction.get_connection().in_atomic_block:
        raise EnqueueFailed(
            f"{len(result.enqueue_failed)} claimed card(s) could not be enqueued ({result.enqueue_error}); "
            "they were released back to approved and nothing was sent for them.",
            result.enqueue_failed,
        )
    return result


def _claim(*, operator, username: str, limit: int | None, now: dt.datetime) -> CycleResult:
    with transaction.atomic():
        day = ramp_day(claim_date(RampPolicy.get(), now))
        # The lock serializes concurrent cycles on PostgreSQL; on SQLite the
        # IMMEDIATE transaction already holds the database write lock.
        day = RampDay.objects.select_for_update().get(pk=day.pk)
        if Hold.objects.active().exists():
            raise DispatchRefused(["A hold was raised while the cycle was starting."])
        chosen = plan(day=day, policy=RampPolicy.get(), now=now, limit=limit, blockers=[])
        result = CycleResult(
            date=day.date, cap=chosen.cap, dispatched_before=day.dispatched_count, claimed=[], held_back=chosen.held_back
        )
        for line in chosen.selected:
            card = PendingEmail(pk=line.pk, status=CardStatus.APPROVED)
            try:
                transition(
                    card, CardStatus.QUEUED, expected=CardStatus.APPROVED, actor=operator,
                    reason=f"Claimed by the live cycle of {username}", queued_at=now,
                )
            except StateChanged as exc:
                # Someone acted on it between the selection and the claim; it simply is not ours.
                line.reasons = [str(exc)]
                line.verdict = CHANGED_MEANWHILE
                result.held_back.append(line)
                continue
            result.claimed.append(line)
        counters.add_claims(day, len(result.claimed), owner=username)
        record = cycles.record_claimed(
            operator=username,
            now=now,
            card_ids=[line.pk for line in result.claimed],
            held_back_by_reason=dict(Counter(line.verdict for line in result.held_back)),
        )
        result.record_id = record.pk
        claimed = [(line.pk, line.code) for line in result.claimed]
        transaction.on_commit(lambda: _enqueue_claimed(claimed, result))
    return result


def _enqueue_claimed(claimed: list[tuple[int, str]], result: CycleResult) -> None:
    """Enqueue the claimed cards; release the ones Redis did not take."""
    failed: list[int] = []
    error = ""
    for pk, code in claimed:
        try:
            enqueue_card(pk, code)
            continue
        except redis.RedisError as exc:
            error = redis_error(exc)
        failed.append(pk)
    for pk in failed:
        # If Redis took the job after all, the job finds the card approved and does nothing.
        release(pk, CardStatus.QUEUED, CardStatus.APPROVED, reason=f"Released: the job could not be enqueued ({error})")
    result.enqueue_failed, result.enqueue_error = failed, error




