"""The dispatch flow: claim approved cards, re-check them, send once, record.

Everything that can make a wrong email go out is decided here, in plain
functions shared by the `dispatch`/`reconcile`/`verify_sent` commands, the
dispatch console in the admin and the RQ jobs:

* `dry_run` and `start_live_cycle` walk the same selection (`_plan`): the dry
  run only reads, the live cycle runs it under today's RampDay lock.
* `send_card` is the job body. It re-checks the card just before sending,
  marks it `sending` in its own committed transaction and only then calls GHL,
  so that a crash between the two leaves evidence (`sending`) for `reconcile`.
* `reconcile` settles `sending`/`unknown` cards by looking for the card's
  idempotency marker in GHL; a card is resent only when GHL confirms absence.

Ramp counters are changed with F() expressions in the database, never read
then written, because any number of workers share them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.html import escape, urlize

from caio.redis import RedisUnavailable, ping as redis_ping
from ghl.client import get_client
from ghl.errors import GhlError, GhlRateLimited
from compliance.checks import SUPPRESSION_CHECK_IDS
from outreach.checks import evaluate
from outreach.models import CardStatus, DispatchAttempt, Lead, PendingEmail
from outreach.transitions import StateChanged, transition
from ramp.days import operating_date, operating_tz, ramp_day
from ramp.gates import live_cycle_blockers
from ramp.limits import CAP_REACHED, Candidate, plan_claims, sendable_tiers, tier_caps
from ramp.models import Hold, PreflightRun, RampDay, RampPolicy

logger = logging.getLogger(__name__)

S = CardStatus
QUEUE_NAME = "dispatch"
LIVE_CYCLE_PERMISSION = "outreach.run_live_cycle"
WORKER_LABEL = "dispatch worker"

# A card whose GHL calls were refused in a way that is known to be safe (429,
# connection refused) is retried this many times before it is failed for a person.
MAX_SAFE_RETRIES = 20
# When GHL says 429 without Retry-After, wait for its 10-second window to pass.
DEFAULT_RETRY_SECONDS = 10.0
# A `sending` card younger than this may still have a live worker talking to GHL
# (rate-limiter wait + connect + read timeouts), and an `unknown` one may still be
# being recorded by GHL after our read timed out; reconcile leaves both alone.
RECONCILE_GRACE = timedelta(seconds=120)


class DispatchRefused(Exception):
    """A live cycle may not start; `reasons` lists every reason, each actionable."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("Live cycle refused: " + "; ".join(self.reasons))


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


def _day_bounds(date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Return the UTC instants that start and end an operating day."""
    tz = operating_tz()
    start = dt.datetime.combine(date, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(date + timedelta(days=1), dt.time.min, tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _claimed_today(date: dt.date) -> tuple[Counter, Counter]:
    """Count the cards claimed on `date` per lead domain and per tier (released cards excluded)."""
    start, end = _day_bounds(date)
    rows = PendingEmail.objects.filter(
        queued_at__gte=start,
        queued_at__lt=end,
        status__in=[S.QUEUED, S.SENDING, S.SENT, S.UNKNOWN, S.FAILED],
    ).values_list("lead__domain", "lead__tier")
    domains: Counter = Counter()
    tiers: Counter = Counter()
    for domain, tier in rows:
        domains[domain.lower()] += 1
        tiers[tier] += 1
    return domains, tiers


def card_problems(card: PendingEmail, *, policy: RampPolicy, now: dt.datetime) -> list[str]:
    """Return why this approved card may not be sent now (empty: it may).

    The same list drives the claim, the dry run and the job's last re-check, so
    a card the job would refuse is never claimed in the first place.
    """
    problems: list[str] = []
    if card.is_shadow:
        problems.append("shadow card: shadow cards are never dispatched")
    if card.is_canary and policy.graduation_level == 0:
        problems.append("canary card: canary cards wait until the ramp graduates")
    if card.is_stale(now):
        problems.append(
            f"stale: drafted more than PENDING_QUEUE_MAX_AGE_HOURS ({settings.PENDING_QUEUE_MAX_AGE_HOURS} h) ago;"
            " draft a fresh one"
        )
    sendable = sendable_tiers(policy)
    if card.lead.tier not in sendable:
        problems.append(f"tier {card.lead.tier} is not sendable at this ramp level (sendable: {', '.join(sendable) or 'none'})")
    suppression = card.lead.suppression_reason()
    if suppression:
        problems.append(f"lead suppressed: {suppression}")
    if not card.approved_content_hash or card.content_hash() != card.approved_content_hash:
        problems.append("content changed since approval: it must be reviewed again")
    compliance = evaluate(card)
    for finding in compliance.findings:
        # A suppression finding repeats what is said above; keep the others.
        if not finding.passed and not (suppression and finding.id in SUPPRESSION_CHECK_IDS):
            problems.append(f"compliance: {finding.name}: {finding.reason}")
    return problems


def _plan(*, day: RampDay, policy: RampPolicy, now: dt.datetime, limit: int | None, blockers: list[str]) -> DispatchPlan:
    """Select, in order, the approved cards a cycle may claim within the caps.

    Each card's own problems come from card_problems; the ramp's arithmetic
    (daily cap, tier_2 canary share, per-company cap) from ramp.limits.plan_claims,
    which the replay harness applies too.
    """
    remaining = max(day.cap - day.dispatched_count, 0)
    budget = remaining if limit is None else min(remaining, max(limit, 0))
    claimed_domains, claimed_tiers = _claimed_today(day.date)

    held_back: list[CardLine] = []
    eligible: dict[int, CardLine] = {}
    candidates: list[Candidate] = []
    cards = PendingEmail.objects.filter(status=S.APPROVED).select_related("lead").order_by("created_at", "pk")
    for card in cards:
        line = CardLine.of(card)
        line.reasons = card_problems(card, policy=policy, now=now)
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
            why = f"over today's cap: {day.dispatched_count} of {day.cap} already claimed"
        line.reasons.append(why)
        held_back.append(line)
    if blockers:
        for line in selected:
            line.reasons = [f"blocked: {blocker}" for blocker in blockers]
    return DispatchPlan(
        date=day.date,
        cap=day.cap,
        dispatched_count=day.dispatched_count,
        limit=limit,
        selected=selected,
        held_back=held_back,
        blockers=blockers,
    )


def _redis_blockers() -> list[str]:
    try:
        redis_ping()
    except RedisUnavailable as exc:
        return [f"{exc} Start Redis before a live cycle: queued jobs live there."]
    return []


def gate_blockers(*, operator=None, now: dt.datetime | None = None, check_redis: bool = True) -> list[str]:
    """Return every reason a live cycle may not start now (empty: it may)."""
    reasons: list[str] = []
    if operator is not None and not operator.has_perm(LIVE_CYCLE_PERMISSION):
        reasons.append(f"User {operator.get_username()} lacks the live-cycle permission ({LIVE_CYCLE_PERMISSION}).")
    reasons.extend(live_cycle_blockers(now=now))
    if check_redis:
        reasons.extend(_redis_blockers())
    return reasons


def dry_run(now: dt.datetime | None = None, *, limit: int | None = None, check_redis: bool = True) -> DispatchPlan:
    """Return what a live cycle would send now and why every other approved card would not.

    Reads only: today's RampDay and the policy are not created if missing.
    """
    now = now or timezone.now()
    date = operating_date(now)
    policy = RampPolicy.objects.filter(pk=1).first() or RampPolicy()
    day = RampDay.objects.filter(date=date).first() or RampDay(date=date, cap=policy.current_cap())
    blockers = gate_blockers(now=now, check_redis=check_redis)
    return _plan(day=day, policy=policy, now=now, limit=limit, blockers=blockers)


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


def job_id_for(card_code: str, *, again: bool = False) -> str:
    """Return the RQ job id of a card's dispatch: its code, plus a fresh suffix for a retry.

    A retry gets its own id because RQ keeps a finished job's id for a while;
    two jobs for one card are harmless (the job claims queued -> sending by
    compare-and-set), so the suffix only keeps them apart in the dashboard.
    """
    return f"dispatch-{card_code}-{uuid.uuid4().hex[:8]}" if again else f"dispatch-{card_code}"


def dispatch_queue():
    """Return the RQ `dispatch` queue, enqueuing at once (callers already wait for commit)."""
    import django_rq

    return django_rq.get_queue(QUEUE_NAME, commit_mode="auto")


def start_live_cycle(*, operator, limit: int | None = None, now: dt.datetime | None = None) -> CycleResult:
    """Claim up to today's remaining cap of approved cards and enqueue one job each.

    1. Refuse (DispatchRefused, every reason) without the permission, with any
       gate red (holds, preflight, ...) or with Redis down.
    2. In one transaction: lock today's RampDay, re-check for a hold, select the
       eligible cards within the remaining cap, per-company cap and --limit,
       move each approved -> queued (compare-and-set), add them to
       dispatched_count with F() and mark the day live with its owner.
    3. On commit, enqueue one job per card (job id from the card code, payload
       the primary key). Cards whose job could not be enqueued are released
       back to approved and EnqueueFailed is raised.
    """
    now = now or timezone.now()
    reasons = gate_blockers(operator=operator, now=now)
    if reasons:
        raise DispatchRefused(reasons)

    from outreach import jobs

    username = operator.get_username()
    with transaction.atomic():
        day = ramp_day(operating_date(now))
        # The lock serializes concurrent cycles on PostgreSQL; on SQLite the
        # IMMEDIATE transaction already holds the database write lock.
        day = RampDay.objects.select_for_update().get(pk=day.pk)
        if Hold.objects.active().exists():
            raise DispatchRefused(["A hold was raised while the cycle was starting."])
        plan = _plan(day=day, policy=RampPolicy.get(), now=now, limit=limit, blockers=[])
        result = CycleResult(
            date=day.date, cap=day.cap, dispatched_before=day.dispatched_count, claimed=[], held_back=plan.held_back
        )
        for line in plan.selected:
            card = PendingEmail(pk=line.pk, status=S.APPROVED)
            try:
                transition(
                    card, S.QUEUED, expected=S.APPROVED, actor=operator,
                    reason=f"Claimed by the live cycle of {username}", queued_at=now,
                )
            except StateChanged as exc:
                # Someone acted on it between the selection and the claim; it simply is not ours.
                line.reasons = [str(exc)]
                result.held_back.append(line)
                continue
            result.claimed.append(line)
        updates = {"dispatched_count": F("dispatched_count") + len(result.claimed), "is_live": True}
        if not day.owner:
            updates["owner"] = username
        RampDay.objects.filter(pk=day.pk).update(**updates)
        claimed = [(line.pk, line.code) for line in result.claimed]
        transaction.on_commit(lambda: _enqueue_claimed(claimed, result, jobs.dispatch_card))

    logger.info("Live cycle by %s claimed %d card(s) for %s", username, len(result.claimed), result.date)
    if result.enqueue_failed and not transaction.get_connection().in_atomic_block:
        raise EnqueueFailed(
            f"{len(result.enqueue_failed)} claimed card(s) could not be enqueued ({result.enqueue_error}); "
            "they were released back to approved and nothing was sent for them.",
            result.enqueue_failed,
        )
    return result


def _enqueue_claimed(claimed: list[tuple[int, str]], result: CycleResult, job) -> None:
    """Enqueue the claimed cards; release the ones Redis did not take."""
    failed: list[int] = []
    error = ""
    try:
        queue = dispatch_queue()
    except redis.RedisError as exc:
        queue, error = None, _redis_error(exc)
    for pk, code in claimed:
        if queue is not None:
            try:
                queue.enqueue_call(func=job, args=(pk,), job_id=job_id_for(code))
                continue
            except redis.RedisError as exc:
                error = _redis_error(exc)
        failed.append(pk)
    for pk in failed:
        # If Redis took the job after all, the job finds the card approved and does nothing.
        _release(pk, S.QUEUED, S.APPROVED, reason=f"Released: the job could not be enqueued ({error})")
    result.enqueue_failed, result.enqueue_error = failed, error


def _redis_error(exc: Exception) -> str:
    from caio.redis import redacted_redis_url

    return f"Redis is not reachable at REDIS_URL={redacted_redis_url()}: {exc.__class__.__name__}"


def _release(pk: int, expected: str, to_status: str, *, reason: str) -> bool:
    """Give a claimed card back (not sent) and return its slot to the day it was claimed on."""
    card = PendingEmail.objects.filter(pk=pk).only("pk", "status", "queued_at").first()
    if card is None:
        return False
    claim_date = operating_date(card.queued_at) if card.queued_at else operating_date()
    try:
        with transaction.atomic():
            transition(card, to_status, expected=expected, actor_label=WORKER_LABEL, reason=reason, queued_at=None)
            RampDay.objects.filter(date=claim_date, dispatched_count__gt=0).update(
                dispatched_count=F("dispatched_count") - 1
            )
    except StateChanged:
        return False
    return True


# ---------------------------------------------------------------------------
# The job body


@dataclass
class SendOutcome:
    card_pk: int
    outcome: str
    detail: str = ""


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _bump_day(card: PendingEmail, **counters: int) -> None:
    """Add to the counters of the day the card was claimed on (F(): many workers share them)."""
    date = operating_date(card.queued_at) if card.queued_at else operating_date()
    RampDay.objects.filter(date=date).update(**{name: F(name) + n for name, n in counters.items()})


def render_email(card: PendingEmail) -> tuple[str, str]:
    """Return (html, text) exactly as approved, each carrying the card's idempotency marker.

    The marker lets reconcile find the message in GHL's conversation: an HTML
    comment nobody sees, and a short reference line in the plain-text part.
    """
    paragraphs = [p for p in card.full_text.split("\n\n") if p.strip()]
    html_body = "\n".join(
        "<p>" + urlize(escape(p), autoescape=False).replace("\n", "<br>\n") + "</p>" for p in paragraphs
    )
    html = f"{html_body}\n<!-- caio:{card.idempotency_key} -->"
    text = f"{card.full_text}\n\nRef: {card.idempotency_key}"
    return html, text


def _finish(attempt: DispatchAttempt, outcome: str, *, started: float, error: str = "", status: int | None = None) -> None:
    DispatchAttempt.objects.filter(pk=attempt.pk).update(
        outcome=outcome,
        finished_at=timezone.now(),
        error=error[:2000],
        http_status=status,
    )
    logger.info("Card %s attempt %s: %s in %.0f ms %s", attempt.card_id, attempt.pk, outcome, (time.monotonic() - started) * 1000, error)


def _retry_count(card: PendingEmail) -> int:
    return DispatchAttempt.objects.filter(card_id=card.pk, outcome=DispatchAttempt.Outcome.RETRY).count()


def _enqueue_retry(card: PendingEmail, delay: float) -> None:
    """Enqueue the card's job again after `delay` seconds (needs a worker --with-scheduler)."""
    from outreach import jobs

    delay = max(delay, 0.0) + random.uniform(0, 0.5)  # spread the retries of a 429 storm
    try:
        dispatch_queue().enqueue_in(
            timedelta(seconds=delay), jobs.dispatch_card, card.pk, job_id=job_id_for(card.code.hex, again=True)
        )
    except redis.RedisError as exc:
        # The card stays queued; `reconcile` re-enqueues queued cards left without a job.
        logger.error("Card %s could not be re-enqueued: %s", card.pk, _redis_error(exc))


def send_card(card_pk: int, *, now: dt.datetime | None = None) -> SendOutcome:
    """Send one queued card through GHL, at most once.

    1. Re-fetch the card; do nothing unless it is still `queued`.
    2. Re-check: an active hold releases it back to approved; content changed
       since approval returns it to pending; suppression, compliance, tier,
       shadow or staleness fail it. Nothing is sent in any of these cases.
    3. Write a DispatchAttempt, resolve/upsert the GHL contact (stored on card
       and lead) and refuse locally when the contact has Email DND.
    4. Mark the card `sending` (committed), then call send_email once, with the
       idempotency marker embedded.
    5. Record the outcome: sent; 429/connection refused -> queued again and
       retried later (safe); 5xx/timeout -> unknown for reconcile; permanent -> failed.
    """
    card = PendingEmail.objects.select_related("lead").filter(pk=card_pk).first()
    if card is None:
        return SendOutcome(card_pk, "missing")
    if card.status != S.QUEUED:
        return SendOutcome(card_pk, "skipped", f"card is {card.status}, not queued")
    now = now or timezone.now()

    skipped = _recheck(card, now=now)
    if skipped is not None:
        return skipped

    started = time.monotonic()
    attempt = DispatchAttempt.objects.create(card=card, worker=_worker_name())
    client = get_client()
    lead = card.lead

    # Resolving the contact sends nothing, so every failure here is safe to retry.
    try:
        contact = client.resolve_contact(
            email=lead.email,
            first_name=lead.first_name,
            last_name=lead.last_name,
            company_name=lead.company,
            source="caio",
        )
    except GhlError as exc:
        if exc.permanent:
            _fail(card, S.QUEUED, f"GHL refused the contact: {exc}", count_error=True)
            _finish(attempt, DispatchAttempt.Outcome.FAILED, started=started, error=str(exc), status=exc.status)
            return SendOutcome(card_pk, "failed", str(exc))
        return _retry_later(card, S.QUEUED, exc, attempt=attempt, started=started)

    if contact.id != card.ghl_contact_id or contact.id != lead.ghl_contact_id:
        Lead.objects.filter(pk=lead.pk).update(ghl_contact_id=contact.id)
        PendingEmail.objects.filter(pk=card.pk).update(ghl_contact_id=contact.id)
    if contact.email_blocked:
        reason = f"GHL contact {contact.id} has Email DND ({contact.email_dnd_status or 'dnd'}): not sent"
        _fail(card, S.QUEUED, reason)
        _finish(attempt, DispatchAttempt.Outcome.FAILED, started=started, error=reason)
        return SendOutcome(card_pk, "failed", reason)

    # Resolving took a moment: a reply or suppression that arrived meanwhile
    # still stops this email (suppress_lead also fails queued cards; a reply does not).
    lead.refresh_from_db(fields=["do_not_contact", "do_not_contact_reason", "unsubscribed_at", "bounced_at", "replied_at"])
    stopped_by = lead.suppression_reason() or ("replied" if lead.replied_at else "")
    if stopped_by:
        reason = f"Not sent: the lead is {stopped_by} (learnt while the contact was being resolved)"
        _fail(card, S.QUEUED, reason)
        _finish(attempt, DispatchAttempt.Outcome.SKIPPED, started=started, error=reason)
        return SendOutcome(card_pk, "failed", reason)
    # A hold raised meanwhile still stops this email.
    if Hold.objects.active().exists():
        reason = "Released: a hold was raised while the contact was being resolved; nothing sent"
        _release(card.pk, S.QUEUED, S.APPROVED, reason=reason)
        _finish(attempt, DispatchAttempt.Outcome.SKIPPED, started=started, error=reason)
        return SendOutcome(card_pk, "released", reason)

    # Committed before the request leaves: a crash from here on leaves `sending`,
    # which reconcile settles by asking GHL, never by resending blindly.
    try:
        transition(
            card, S.SENDING, expected=S.QUEUED, actor_label=WORKER_LABEL,
            reason=f"Attempt {attempt.pk} on {attempt.worker}",
            ghl_contact_id=contact.id, dispatch_attempts=F("dispatch_attempts") + 1,
        )
    except StateChanged as exc:
        _finish(attempt, DispatchAttempt.Outcome.SKIPPED, started=started, error=str(exc))
        return SendOutcome(card_pk, "skipped", str(exc))

    # The copy read at the top may be older than the card: while we waited on GHL it
    # could have been released, edited, approved again and claimed anew. Now that it
    # is `sending` nobody may change it, so send what is stored, and only if approved.
    card.refresh_from_db(fields=["subject", "body", "footer", "approved_content_hash", "idempotency_key"])
    if not card.approved_content_hash or card.content_hash() != card.approved_content_hash:
        reason = "Not sent: the stored text differs from the approved text"
        _fail(card, S.SENDING, reason)
        _finish(attempt, DispatchAttempt.Outcome.FAILED, started=started, error=reason)
        return SendOutcome(card_pk, "failed", reason)

    html, text = render_email(card)
    try:
        sent = client.send_email(contact_id=contact.id, subject=card.subject, html=html, text=text)
    except GhlError as exc:
        if exc.retry_safe:
            return _retry_later(card, S.SENDING, exc, attempt=attempt, started=started)
        if exc.permanent:
            _fail(card, S.SENDING, f"GHL refused the email: {exc}", count_error=True)
            _finish(attempt, DispatchAttempt.Outcome.FAILED, started=started, error=str(exc), status=exc.status)
            return SendOutcome(card_pk, "failed", str(exc))
        return _mark_unknown(card, exc, attempt=attempt, started=started)
    except Exception as exc:  # a bug after the request may have left: never guess, reconcile
        logger.exception("Unexpected error sending card %s", card_pk)
        return _mark_unknown(card, exc, attempt=attempt, started=started)

    _mark_sent(card, sent, expected=S.SENDING, reason=f"Sent by attempt {attempt.pk}")
    _finish(attempt, DispatchAttempt.Outcome.SENT, started=started, status=200)
    return SendOutcome(card_pk, "sent", sent.message_id)


def _recheck(card: PendingEmail, *, now: dt.datetime) -> SendOutcome | None:
    """Return a SendOutcome when the card must not be sent now (and record why), else None."""
    holds = list(Hold.objects.active().values_list("reason", flat=True)[:3])
    if holds:
        reason = f"Released: hold active ({'; '.join(holds)}); nothing sent"
        _release(card.pk, S.QUEUED, S.APPROVED, reason=reason)
        _skip_attempt(card, reason)
        return SendOutcome(card.pk, "released", reason)
    if not card.approved_content_hash or card.content_hash() != card.approved_content_hash:
        reason = "Content changed since approval: back to review; nothing sent"
        _release(card.pk, S.QUEUED, S.PENDING, reason=reason)
        _skip_attempt(card, reason)
        return SendOutcome(card.pk, "returned", reason)
    policy = RampPolicy.objects.filter(pk=1).first() or RampPolicy()
    problems = card_problems(card, policy=policy, now=now)
    if problems:
        reason = "Not sent: " + "; ".join(problems)
        _fail(card, S.QUEUED, reason)
        _skip_attempt(card, reason)
        return SendOutcome(card.pk, "failed", reason)
    return None


def _skip_attempt(card: PendingEmail, reason: str) -> None:
    DispatchAttempt.objects.create(
        card=card, worker=_worker_name(), outcome=DispatchAttempt.Outcome.SKIPPED, finished_at=timezone.now(), error=reason
    )


def _fail(card: PendingEmail, expected: str, reason: str, *, count_error: bool = False) -> None:
    with transaction.atomic():
        transition(card, S.FAILED, expected=expected, actor_label=WORKER_LABEL, reason=reason, last_error=reason)
        if count_error:
            _bump_day(card, error_count=1)


def _retry_later(card, expected: str, exc: GhlError, *, attempt: DispatchAttempt, started: float) -> SendOutcome:
    """Put the card back to queued and enqueue it again after Retry-After: GHL did not take it."""
    retries = _retry_count(card)
    if retries + 1 >= MAX_SAFE_RETRIES:
        reason = f"Retries used up ({MAX_SAFE_RETRIES}); last error: {exc}"
        _fail(card, expected, reason, count_error=True)
        _finish(attempt, DispatchAttempt.Outcome.FAILED, started=started, error=reason, status=exc.status)
        return SendOutcome(card.pk, "failed", reason)
    delay = exc.retry_after if isinstance(exc, GhlRateLimited) and exc.retry_after else DEFAULT_RETRY_SECONDS
    if expected != S.QUEUED:
        transition(
            card, S.QUEUED, expected=expected, actor_label=WORKER_LABEL,
            reason=f"GHL did not take it ({exc}); retry in {delay:.1f} s", last_error=str(exc)[:2000],
        )
    _finish(attempt, DispatchAttempt.Outcome.RETRY, started=started, error=str(exc), status=exc.status)
    _enqueue_retry(card, delay)
    return SendOutcome(card.pk, "retry", str(exc))


def _mark_unknown(card, exc: Exception, *, attempt: DispatchAttempt, started: float) -> SendOutcome:
    reason = f"Outcome unknown ({exc}); reconcile will ask GHL before any resend"
    with transaction.atomic():
        transition(card, S.UNKNOWN, expected=S.SENDING, actor_label=WORKER_LABEL, reason=reason, last_error=str(exc)[:2000])
        _bump_day(card, error_count=1)
    _finish(attempt, DispatchAttempt.Outcome.UNKNOWN, started=started, error=str(exc), status=getattr(exc, "status", None))
    return SendOutcome(card.pk, "unknown", str(exc))


def _mark_sent(card: PendingEmail, sent, *, expected: str, reason: str, actor_label: str = WORKER_LABEL) -> None:
    with transaction.atomic():
        transition(
            card, S.SENT, expected=expected, actor_label=actor_label, reason=reason,
            sent_at=timezone.now(),
            ghl_conversation_id=sent.conversation_id or "",
            ghl_message_id=sent.message_id or "",
            ghl_email_message_id=sent.email_message_id or "",
            last_error="",
        )
        _bump_day(card, sent_count=1)


# ---------------------------------------------------------------------------
# Reconcile and verification


@dataclass
class ReconcileReport:
    sent: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    reenqueued: list[int] = field(default_factory=list)
    left: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.left

    def as_dict(self) -> dict:
        return {
            "sent": self.sent,
            "requeued": self.requeued,
            "reenqueued": self.reenqueued,
            "left": [{"pk": pk, "reason": reason} for pk, reason in self.left],
        }


def reconcile(*, now: dt.datetime | None = None, grace: timedelta = RECONCILE_GRACE) -> ReconcileReport:
    """Settle `unknown`, `sending` and `queued` cards left unchanged longer than `grace`.

    1. unknown / stuck sending: look for the card's marker in the contact's GHL
       conversation. Found -> sent (ids recorded). Confirmed absent -> queued and
       re-enqueued: the only path to a resend. GHL unreachable -> left as is.
    2. queued with no progress for `grace` (e.g. Redis lost its jobs): enqueue
       again; a second job for a card is harmless, the claim is compare-and-set.
    """
    now = now or timezone.now()
    report = ReconcileReport()
    cutoff = now - grace
    # An `unknown` card gets the same grace as a `sending` one: after a read
    # timeout GHL may still be recording the message, so an "absent" read right
    # away is no confirmation and a resend then would deliver it twice.
    doubtful = PendingEmail.objects.filter(status__in=[S.UNKNOWN, S.SENDING], updated_at__lt=cutoff)
    client = None
    for card in doubtful.select_related("lead").order_by("pk"):
        if not card.ghl_contact_id:
            # The send needs the contact id, which is stored before `sending`: nothing left.
            found, error = None, ""
        else:
            client = client or get_client()
            try:
                found, error = client.find_sent_email_containing(card.ghl_contact_id, card.idempotency_key), ""
            except GhlError as exc:
                found, error = None, str(exc)
        if error:
            report.left.append((card.pk, f"GHL unreachable, left {card.status}: {error}"))
            continue
        try:
            if found is not None:
                _mark_sent(card, found, expected=card.status, reason="Reconciled: GHL has the message", actor_label="reconcile")
                report.sent.append(card.pk)
            else:
                transition(
                    card, S.QUEUED, expected=card.status, actor_label="reconcile",
                    reason="Reconciled: GHL confirms the message is absent; queued for one resend",
                )
                _enqueue_after_reconcile(card, report)
                report.requeued.append(card.pk)
        except StateChanged as exc:
            report.left.append((card.pk, str(exc)))

    for card in PendingEmail.objects.filter(status=S.QUEUED, updated_at__lt=cutoff).order_by("pk"):
        if card.pk in report.requeued:
            continue
        if _enqueue_after_reconcile(card, report):
            report.reenqueued.append(card.pk)
    return report


def _enqueue_after_reconcile(card: PendingEmail, report: ReconcileReport) -> bool:
    from outreach import jobs

    try:
        dispatch_queue().enqueue_call(func=jobs.dispatch_card, args=(card.pk,), job_id=job_id_for(card.code.hex, again=True))
    except redis.RedisError as exc:
        report.left.append((card.pk, f"queued, but not enqueued: {_redis_error(exc)}"))
        return False
    return True


@dataclass
class VerifyReport:
    date: dt.date
    checked: int = 0
    missing: list[tuple[int, str]] = field(default_factory=list)
    unreachable: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unreachable

    def as_dict(self) -> dict:
        return {
            "date": self.date.isoformat(),
            "checked": self.checked,
            "missing": [{"pk": pk, "detail": detail} for pk, detail in self.missing],
            "unreachable": [{"pk": pk, "detail": detail} for pk, detail in self.unreachable],
        }


def verify_sent(date: dt.date | None = None) -> VerifyReport:
    """Check that every card sent on `date` (operating day) exists in its contact's GHL conversation."""
    date = date or operating_date()
    start, end = _day_bounds(date)
    report = VerifyReport(date=date)
    client = None
    cards = PendingEmail.objects.filter(status=S.SENT, sent_at__gte=start, sent_at__lt=end).select_related("lead")
    for card in cards.order_by("pk"):
        report.checked += 1
        client = client or get_client()
        try:
            found = client.find_sent_email_containing(card.ghl_contact_id, card.idempotency_key)
        except GhlError as exc:
            report.unreachable.append((card.pk, f"{card.lead.email}: GHL unreachable ({exc})"))
            continue
        if found is None:
            report.missing.append((card.pk, f"{card.lead.email}: no message with marker {card.idempotency_key}"))
        elif card.ghl_message_id and found.message_id and found.message_id != card.ghl_message_id:
            report.missing.append(
                (card.pk, f"{card.lead.email}: GHL has message {found.message_id}, we recorded {card.ghl_message_id}")
            )
    return report


# ---------------------------------------------------------------------------
# Shared by the commands and the console


def active_hold_lines() -> list[str]:
    """Return one line per active hold, for every dispatch command and page to show."""
    return [
        f"HOLD #{hold.pk} since {hold.raised_at:%Y-%m-%d %H:%M} UTC ({hold.source}"
        + (f", by {hold.raised_by}" if hold.raised_by else "")
        + f"): {hold.reason}"
        for hold in Hold.objects.active().order_by("raised_at")
    ]


def ensure_fresh_preflight(*, ran_by: str, now: dt.datetime | None = None) -> str:
    """Run ramp's preflight in-process when no fresh passed run exists; return what happened.

    Returns "" when a fresh passed run already exists, else a line describing
    the run that was attempted. The gates then decide: a failed run still blocks.
    """
    from ramp.preflight import run_preflight

    now = now or timezone.now()
    last = PreflightRun.objects.order_by("-ran_at").first()
    if last is not None and last.passed and last.is_fresh(now):
        return ""
    run = run_preflight(ran_by=ran_by)
    if run.passed:
        return "Ran preflight in-process: passed."
    failed = [row.get("name", "?") for row in run.results if not row.get("passed")]
    return f"Ran preflight in-process: FAILED ({', '.join(failed) or 'see manage.py preflight'})."
