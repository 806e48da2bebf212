"""The operator's read-outs over outreach data: stop-condition facts, queue traces and
queue hygiene. Commands, preflight and the API call these (the daily report's
counts are in `outreach.daily`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, F, Max, OuterRef, Subquery
from django.utils import timezone

from outreach import queue
from outreach.models import CardStatus, EmailEvent, Lead, PendingEmail, RejectionTag
from outreach.transitions import StateChanged, transition
from ramp import stop_conditions
from ramp.days import operating_date
from ramp.models import QueueTrace, RampDay

logger = logging.getLogger(__name__)

# Cards that may still go out: what a reappearing lead or an inconsistency endangers.
IN_FLIGHT = (CardStatus.PENDING, CardStatus.APPROVED, CardStatus.QUEUED)
DELIVERABILITY_WINDOW_DAYS = 7


# --- stop-condition facts -------------------------------------------------------


def queue_facts(*, now: dt.datetime | None = None) -> stop_conditions.QueueFacts:
    """Gather what ramp's stop conditions and preflight look at, as plain values."""
    now = now or timezone.now()
    rules = queue.QueueRules.current(now)
    facts = stop_conditions.QueueFacts(window_days=DELIVERABILITY_WINDOW_DAYS)
    in_flight = (
        PendingEmail.objects.filter(status__in=IN_FLIGHT, created_at__gte=rules.stale_cutoff)
        .select_related("lead", "campaign", "step")
        .order_by("created_at", "pk")
    )
    for card in in_flight:
        if problem := queue.inconsistency(card):
            facts.inconsistent_cards.append(f"card {card.pk} ({card.lead.email}): {problem}")
    facts.reappeared_leads = [
        f"card {card.pk} ({card.lead.email}, {card.campaign_ref} step {card.step.number}) after a sent step {card.sent_step}"
        for card in reappearing_cards()
    ]
    # The backlog counts only cards a reviewer should decide: non-actionable
    # ones (stale, canary, shadow, other tiers) are hygiene's, not the SLA's.
    decision_cutoff = now - dt.timedelta(minutes=settings.REVIEW_DECISION_SLA_MINUTES)
    waiting = (
        PendingEmail.objects.filter(status=CardStatus.PENDING, created_at__lt=decision_cutoff)
        .select_related("lead", "campaign")
        .order_by("created_at", "pk")
    )
    facts.sla_overdue = [
        f"card {c.pk} ({c.lead.email}) waiting since {c.created_at:%Y-%m-%d %H:%M} UTC"
        for c in waiting
        if queue.explain(c, rules).visible
    ]
    since = now - dt.timedelta(days=DELIVERABILITY_WINDOW_DAYS)
    sent_leads = Lead.objects.filter(cards__status=CardStatus.SENT, cards__sent_at__gte=since).distinct()
    facts.sent = PendingEmail.objects.filter(status=CardStatus.SENT, sent_at__gte=since).count()
    facts.bounces = sent_leads.filter(bounced_at__gte=since).count()
    facts.unsubscribes = sent_leads.filter(unsubscribed_at__gte=since).count()
    reported = sum(
        RampDay.objects.filter(date__gte=operating_date(since)).exclude(reported_complaints=None).values_list("reported_complaints", flat=True)
    )
    facts.complaints = max(reported, EmailEvent.objects.filter(kind=EmailEvent.Kind.COMPLAINED, occurred_at__gte=since).count())
    return facts


def reappearing_cards():
    """Return in-flight cards whose lead was already sent this campaign's step (or a later one).

    Annotated with `sent_step`: the highest step number already sent.
    """
    sent_step = (
        PendingEmail.objects.filter(lead=OuterRef("lead"), campaign=OuterRef("campaign"), status=CardStatus.SENT)
        .values("lead")
        .annotate(top=Max("step__number"))
        .values("top")
    )
    return (
        PendingEmail.objects.filter(status__in=IN_FLIGHT)
        .annotate(sent_step=Subquery(sent_step))
        .filter(sent_step__gte=F("step__number"))
        .select_related("lead", "step")
        .order_by("pk")
    )


# --- queue trace --------------------------------------------------------------------


def trace_counts(rules: queue.QueueRules | None = None) -> dict:
    """Return the queue's counts: by status (all cards), and over open cards by tier,
    classifier, campaign, route and visibility, with exclusion reasons."""
    views = queue.explain_queue(rules)
    by_status = dict(PendingEmail.objects.values_list("status").annotate(n=Count("pk")).order_by())
    reasons = Counter(reason for view in views for reason in view.reasons)
    return {
        "by_status": {status: by_status.get(status, 0) for status in CardStatus.values},
        "open": len(views),
        "by_tier": dict(Counter(v.card.lead.tier for v in views)),
        "by_classifier": dict(Counter(v.card.classifier for v in views)),
        "by_campaign": dict(Counter(v.card.campaign_ref for v in views)),
        "by_route": dict(Counter(v.card.route for v in views)),
        "visible": sum(1 for v in views if v.visible),
        "excluded": sum(1 for v in views if not v.visible),
        "excluded_by_reason": dict(reasons),
    }


GROUPS = ("by_status", "by_tier", "by_classifier", "by_campaign", "by_route", "excluded_by_reason")
NEW_KEY_GROUPS = ("by_tier", "by_classifier", "by_campaign", "by_route")


def drift_between(previous: dict, current: dict, *, threshold: int) -> tuple[dict, list[str]]:
    """Return the changes between two traces and the lines that flag drift.

    Drift: any count moving by `threshold` or more, or a tier, classifier,
    campaign or route the previous trace did not have.
    """
    changes: dict[str, dict[str, int]] = {}
    flags: list[str] = []
    for group in GROUPS + ("visible", "excluded", "open"):
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
    views: list[queue.CardView] = field(default_factory=list)
    stored: QueueTrace | None = None


def take_trace(*, threshold: int, taken_by: str = "", store: bool = True, now: dt.datetime | None = None) -> Trace:
    """Count the queue, compare with the last stored trace and store this one."""
    rules = queue.QueueRules.current(now)
    views = queue.explain_queue(rules)
    counts = trace_counts(rules)
    previous = QueueTrace.objects.order_by("-taken_at", "-pk").first()
    changes, flags = drift_between(previous.counts, counts, threshold=threshold) if previous else ({}, [])
    trace = Trace(counts, previous.taken_at if previous else None, changes, flags, views)
    if store:
        trace.stored = QueueTrace.objects.create(
            taken_at=rules.now, taken_by=taken_by, counts=counts, drift={"changes": changes, "flags": flags}, drift_flagged=bool(flags)
        )
    return trace


# --- queue hygiene ---------------------------------------------------------------------


@dataclass
class CleanupResult:
    planned: list[queue.CardView] = field(default_factory=list)
    rejected: list[queue.CardView] = field(default_factory=list)
    skipped: list[tuple[queue.CardView, str]] = field(default_factory=list)


def cleanup(*, apply: bool, max_age_hours: int | None = None, now: dt.datetime | None = None) -> CleanupResult:
    """Reject non-actionable pending/approved cards with the hygiene tag (dry run unless `apply`).

    Each rejection goes through transition() with the expected status, so a
    card a live cycle claims meanwhile raises StateChanged and is skipped.
    Nothing is deleted; sent, rejected, queued and sending cards are never read here.
    """
    rules = queue.QueueRules.current(now)
    if max_age_hours is not None:
        rules = queue.QueueRules(
            now=rules.now,
            stale_cutoff=rules.now - dt.timedelta(hours=max_age_hours),
            sendable_tiers=rules.sendable_tiers,
            canary_open=rules.canary_open,
        )
    result = CleanupResult(planned=[v for v in queue.explain_queue(rules) if v.hygiene_reasons])
    if not apply:
        return result
    tag = RejectionTag.objects.get(slug=RejectionTag.HYGIENE)
    for view in result.planned:
        reason = "Queue hygiene: " + "; ".join(view.details)
        try:
            transition(
                view.card,
                CardStatus.REJECTED,
                expected=view.card.status,
                actor_label="cleanup_queue",
                reason=reason,
                rejection_tag=tag,
                rejection_note=reason,
            )
        except StateChanged as exc:
            result.skipped.append((view, str(exc)))
            continue
        result.rejected.append(view)
    return result
