"""The operator's read-outs over outreach data: stop-condition facts, queue traces,
queue hygiene and the daily report. Commands, preflight and the API call these."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, F, Max, OuterRef, Subquery
from django.utils import timezone

from outreach import queue
from outreach.models import CardStatus, CardTransition, EmailEvent, Lead, PendingEmail, RejectionTag
from outreach.transitions import StateChanged, transition
from ramp import stop_conditions
from ramp.days import day_bounds, operating_date, ramp_day
from ramp.holds import active_holds
from ramp.models import QueueTrace, RampDay, RampPolicy

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


# --- the daily report ----------------------------------------------------------------


def recommend(report: dict, policy: RampPolicy) -> tuple[str, list[str]]:
    """Return the recommended decision (continue / hold / rollback) and its reasons.

    rollback: deliverability broke a threshold, or a lead reappeared after a send.
    hold: a hold is active, sends failed, or the queue showed anomalies.
    continue: otherwise.
    """
    rollback, hold = [], []
    kpis = report["kpis"]
    for key, limit, label in (
        ("bounce_rate", policy.max_bounce_rate, "bounce"),
        ("unsubscribe_rate", policy.max_unsubscribe_rate, "unsubscribe"),
        ("complaint_rate", policy.max_complaint_rate, "complaint"),
    ):
        if kpis.get(key) is not None and kpis[key] > float(limit):
            rollback.append(f"{label} rate {kpis[key]:.1%} over {float(limit):.1%}")
    rollback.extend(a for a in report["anomalies"] if a.startswith("lead reappeared"))
    if report["holds"]:
        hold.append(f"{len(report['holds'])} hold(s) active")
    if report["ramp"].get("errors"):
        hold.append(f"{report['ramp']['errors']} send error(s)")
    hold.extend(a for a in report["anomalies"] if not a.startswith("lead reappeared"))
    if rollback:
        return "rollback", rollback + hold
    if hold:
        return "hold", hold
    return "continue", ["no anomaly, no hold, deliverability within the thresholds"]


def _signal(from_events: int, reported: int | None) -> int | None:
    """Return a KPI counted from GHL's webhook events, or the operator's figure when one was entered.

    None means neither source has anything: the report says "not recorded"
    rather than a misleading zero.
    """
    if reported is not None:
        return reported
    return from_events or None


def _rate(count: int, sent: int) -> float | None:
    return round(count / sent, 4) if sent else None


def daily_report(date: dt.date | None = None, *, now: dt.datetime | None = None) -> dict:
    """Build the end-of-day report for `date`, run the stop conditions, and store it on the RampDay."""
    now = now or timezone.now()
    date = date or operating_date(now)
    start, end = day_bounds(date)
    policy = RampPolicy.get()
    day = ramp_day(date)
    moves = CardTransition.objects.filter(created_at__gte=start, created_at__lt=end)
    approved = moves.filter(to_status=CardStatus.APPROVED).values("card").distinct().count()
    rejected_rows = (
        moves.filter(to_status=CardStatus.REJECTED)
        .values("card__rejection_tag__slug", "card__rejection_tag__label", "card__rejection_tag__system")
        .annotate(n=Count("card", distinct=True))
        .order_by("-n", "card__rejection_tag__slug")
    )
    rejected_by_tag = {(r["card__rejection_tag__slug"] or "untagged"): r["n"] for r in rejected_rows}
    top_reasons = [
        {"tag": r["card__rejection_tag__slug"], "label": r["card__rejection_tag__label"], "count": r["n"]}
        for r in rejected_rows
        if r["card__rejection_tag__slug"] and not r["card__rejection_tag__system"]
    ][:3]
    sent_cards = PendingEmail.objects.filter(status=CardStatus.SENT, sent_at__gte=start, sent_at__lt=end)
    sent = sent_cards.count()
    in_day = lambda field: Lead.objects.filter(**{f"{field}__gte": start, f"{field}__lt": end}).count()  # noqa: E731
    replies, bounces, unsubscribes = in_day("replied_at"), in_day("bounced_at"), in_day("unsubscribed_at")
    events = dict(
        EmailEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    opens = _signal(events.get(EmailEvent.Kind.OPENED, 0), day.reported_opens)
    complaints = _signal(events.get(EmailEvent.Kind.COMPLAINED, 0), day.reported_complaints)
    meetings = _signal(events.get(EmailEvent.Kind.MEETING, 0), day.reported_meetings)
    kpis = {
        "sent": sent,
        "opens": opens,
        "replies": replies,
        "bounces": bounces,
        "unsubscribes": unsubscribes,
        "complaints": complaints,
        "meetings": meetings,
        "open_rate": _rate(opens, sent) if opens is not None else None,
        "reply_rate": _rate(replies, sent),
        "bounce_rate": _rate(bounces, sent),
        "unsubscribe_rate": _rate(unsubscribes, sent),
        "complaint_rate": _rate(complaints or 0, sent),
    }
    facts = queue_facts(now=now)
    findings = stop_conditions.evaluate(facts, policy)
    anomalies = [f"{f.source.replace('_', ' ')}: {f.reason}" for f in findings]
    if day.dispatched_count > day.cap:
        anomalies.append(f"dispatched {day.dispatched_count} over the cap {day.cap}")
    drifted = QueueTrace.objects.filter(drift_flagged=True, taken_at__gte=start, taken_at__lt=end).count()
    if drifted:
        anomalies.append(f"queue drift flagged by {drifted} trace(s)")
    hygiene = rejected_by_tag.get(RejectionTag.HYGIENE, 0)
    if hygiene:
        anomalies.append(f"queue cleanup rejected {hygiene} non-actionable card(s)")
    stop_conditions.apply(findings)
    report = {
        "date": date.isoformat(),
        "generated_at": now.isoformat(),
        "approved": approved,
        "rejected": sum(rejected_by_tag.values()),
        "rejected_by_tag": rejected_by_tag,
        "top_rejection_reasons": top_reasons,
        "sent": sent,
        "kpis": kpis,
        "ramp": {"is_live": day.is_live, "cap": day.cap, "dispatched": day.dispatched_count, "errors": day.error_count, "is_clean": day.is_clean},
        "holds": [f"#{h.pk} {h.source}: {h.reason}" for h in active_holds()],
        "anomalies": anomalies,
    }
    decision, reasons = recommend(report, policy)
    report["recommended_decision"] = {"decision": decision, "reasons": reasons}
    day.report = report
    day.kpis = {k: kpis[k] for k in ("sent", "opens", "replies", "bounces", "unsubscribes", "complaints", "meetings")}
    day.save(update_fields=["report", "kpis"])
    return report
