"""The operator's read-outs over outreach data: stop-condition facts, queue traces and
queue hygiene. Commands, preflight and the API call these (the daily report's
counts are in `outreach.daily`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone

from outreach import eligibility, review
from outreach.models import CardStatus, EmailEvent, Lead, PendingEmail, RejectionTag
from outreach.transitions import StateChanged, transition
from ramp import stop_conditions
from ramp.days import operating_date
from ramp.models import QueueTrace, RampDay

logger = logging.getLogger(__name__)

# Cards that may still go out: what a reappearing lead or an inconsistency endangers.
IN_FLIGHT = (CardStatus.PENDING, CardStatus.APPROVED, CardStatus.QUEUED)
DELIVERABILITY_WINDOW_DAYS = 7
# The eligibility rules whose cards the stop conditions name.
MISLABELLED = ("campaign_mismatch", "classifier_mismatch")
ALREADY_SENT = "already_sent_step"


# --- stop-condition facts -------------------------------------------------------


def queue_facts(*, now: dt.datetime | None = None) -> stop_conditions.QueueFacts:
    """Gather what ramp's stop conditions and preflight look at, as plain values.

    The queue facts come from the eligibility rules: mislabelled fresh cards,
    cards for a step already sent, and the eligible pending cards past the
    decision SLA (the very cards the review desk counts as breaching it).
    """
    now = now or timezone.now()
    conditions = eligibility.Conditions.current(now)
    facts = stop_conditions.QueueFacts(window_days=DELIVERABILITY_WINDOW_DAYS)
    for verdict in eligibility.judge_queue(conditions, statuses=IN_FLIGHT):
        card = verdict.card
        mismatches = [line for code, line in zip(verdict.reasons, verdict.details, strict=True) if code in MISLABELLED]
        if mismatches and "stale" not in verdict.reasons:
            facts.inconsistent_cards.append(f"card {card.pk} ({card.lead.email}): {'; '.join(mismatches)}")
        if ALREADY_SENT in verdict.reasons:
            detail = verdict.details[verdict.reasons.index(ALREADY_SENT)]
            facts.reappeared_leads.append(f"card {card.pk} ({card.lead.email}, {card.campaign_ref} step {card.step.number}): {detail}")
    waiting = (
        review.eligible_cards(conditions=conditions)
        .filter(review.sla_breach_q("decision", now))
        .select_related("lead")
    )
    facts.sla_overdue = [f"card {c.pk} ({c.lead.email}) waiting since {c.created_at:%Y-%m-%d %H:%M} UTC" for c in waiting]
    since = now - dt.timedelta(days=DELIVERABILITY_WINDOW_DAYS)
    sent_leads = Lead.objects.filter(cards__status=CardStatus.SENT, cards__sent_at__gte=since).distinct()
    facts.sent = PendingEmail.objects.filter(status=CardStatus.SENT, sent_at__gte=since).count()
    facts.bounce_evidence = [f"bounce:lead:{pk}" for pk in sent_leads.filter(bounced_at__gte=since).values_list("pk", flat=True)]
    facts.unsubscribe_evidence = [
        f"unsubscribe:lead:{pk}" for pk in sent_leads.filter(unsubscribed_at__gte=since).values_list("pk", flat=True)
    ]
    facts.bounces, facts.unsubscribes = len(facts.bounce_evidence), len(facts.unsubscribe_evidence)
    reported = list(
        RampDay.objects.filter(date__gte=operating_date(since)).exclude(reported_complaints=None).values_list("date", "reported_complaints")
    )
    events = list(EmailEvent.objects.filter(kind=EmailEvent.Kind.COMPLAINED, occurred_at__gte=since).values_list("pk", flat=True))
    # The larger source wins, as before; each complaint is named so a cleared hold stays cleared.
    if sum(n for _, n in reported) > len(events):
        facts.complaint_evidence = [f"complaint:reported:{day}:{i}" for day, n in reported for i in range(1, n + 1)]
    else:
        facts.complaint_evidence = [f"complaint:event:{pk}" for pk in events]
    facts.complaints = len(facts.complaint_evidence)
    return facts


# --- queue trace --------------------------------------------------------------------


def trace_counts(verdicts: list[eligibility.Verdict]) -> dict:
    """Return the queue's counts: by status (all cards), and over open cards by tier,
    classifier, campaign, route and eligibility, each held-back card under its first reason."""
    by_status = dict(PendingEmail.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {
        "by_status": {status: by_status.get(status, 0) for status in CardStatus.values},
        "open": len(verdicts),
        "by_tier": dict(Counter(v.card.lead.tier for v in verdicts)),
        "by_classifier": dict(Counter(v.card.classifier for v in verdicts)),
        "by_campaign": dict(Counter(v.card.campaign_ref for v in verdicts)),
        "by_route": dict(Counter(v.card.route for v in verdicts)),
        "eligible": sum(1 for v in verdicts if v.eligible),
        "held_back": sum(1 for v in verdicts if not v.eligible),
        "held_back_by_reason": dict(Counter(v.reason for v in verdicts if not v.eligible)),
    }


GROUPS = ("by_status", "by_tier", "by_classifier", "by_campaign", "by_route", "held_back_by_reason")
NEW_KEY_GROUPS = ("by_tier", "by_classifier", "by_campaign", "by_route")


def drift_between(previous: dict, current: dict, *, threshold: int) -> tuple[dict, list[str]]:
    """Return the changes between two traces and the lines that flag drift.

    Drift: any count moving by `threshold` or more, or a tier, classifier,
    campaign or route the previous trace did not have. A count the previous
    trace did not take at all (stored before it was counted) is not compared:
    nothing moved, the trace only learnt to count it.
    """
    changes: dict[str, dict[str, int]] = {}
    flags: list[str] = []
    for group in GROUPS + ("eligible", "held_back", "open"):
        if group not in previous:
            continue
        before, after = previous.get(group, {}), current.get(group, {})
        if not isinstance(after, dict):
            before, after = {group: before or 0}, {group: after}
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in sorted(set(before) | set(after))}
        delta = {k: v for k, v in delta.items() if v}
        if delta:
            changes[group] = delta
        for key, change in delta.items():
            if abs(change) >= threshold:
                flags.append(f"{group} {key}: {change:+d} (threshold {threshold})")
            if group in NEW_KEY_GROUPS and key not in before:
                flags.append(f"new {group[3:]} {key!r} in the queue")
    return changes, flags


@dataclass
class Trace:
    counts: dict
    previous_at: dt.datetime | None
    changes: dict
    flags: list[str]
    verdicts: list[eligibility.Verdict] = field(default_factory=list)
    stored: QueueTrace | None = None


def take_trace(*, threshold: int, taken_by: str = "", store: bool = True, now: dt.datetime | None = None) -> Trace:
    """Count the queue, compare with the last stored trace and store this one."""
    conditions = eligibility.Conditions.current(now)
    verdicts = eligibility.judge_queue(conditions)
    counts = trace_counts(verdicts)
    previous = QueueTrace.objects.order_by("-taken_at", "-pk").first()
    changes, flags = drift_between(previous.counts, counts, threshold=threshold) if previous else ({}, [])
    trace = Trace(counts, previous.taken_at if previous else None, changes, flags, verdicts)
    if store:
        trace.stored = QueueTrace.objects.create(
            taken_at=conditions.now, taken_by=taken_by, counts=counts, drift={"changes": changes, "flags": flags}, drift_flagged=bool(flags)
        )
    return trace


# --- queue hygiene ---------------------------------------------------------------------


@dataclass
class CleanupResult:
    max_age_hours: int
    planned: list[eligibility.Verdict] = field(default_factory=list)
    rejected: list[eligibility.Verdict] = field(default_factory=list)
    skipped: list[tuple[eligibility.Verdict, str]] = field(default_factory=list)


def cleanup(*, apply: bool, max_age_hours: int | None = None, now: dt.datetime | None = None) -> CleanupResult:
    """Reject the open cards that can never be sent as they are, with the hygiene tag (dry run unless `apply`).

    A card is planned when an eligibility rule marked `never_sendable` holds it
    back (`max_age_hours` moves the stale cutoff for this pass only). Each
    rejection goes through transition() with the expected status, so a card a
    live cycle claims meanwhile raises StateChanged and is skipped. Nothing is
    deleted; sent, rejected, queued and sending cards are never read here.
    """
    conditions = eligibility.Conditions.current(now, max_age_hours=max_age_hours)
    result = CleanupResult(
        max_age_hours=conditions.max_age_hours,
        planned=[v for v in eligibility.judge_queue(conditions) if v.never_sendable],
    )
    if not apply:
        return result
    tag = RejectionTag.objects.get(slug=RejectionTag.HYGIENE)
    for verdict in result.planned:
        reason = "Queue hygiene: " + "; ".join(verdict.lines())
        try:
            transition(
                verdict.card,
                CardStatus.REJECTED,
                expected=verdict.card.status,
                actor_label="cleanup_queue",
                reason=reason,
                rejection_tag=tag,
                rejection_note=reason,
            )
        except StateChanged as exc:
            result.skipped.append((verdict, str(exc)))
            continue
        result.rejected.append(verdict)
    return result
