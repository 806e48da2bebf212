"""The operator's read-outs over outreach data: stop-condition facts, queue traces,
queue hygiene and the daily report. Commands, preflight and the API call these."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone

from outreach import eligibility, review
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
    facts.bounces = sent_leads.filter(bounced_at__gte=since).count()
    facts.unsubscribes = sent_leads.filter(unsubscribed_at__gte=since).count()
    reported = sum(
        RampDay.objects.filter(date__gte=operating_date(since)).exclude(reported_complaints=None).values_list("reported_complaints", flat=True)
    )
    facts.complaints = max(reported, EmailEvent.objects.filter(kind=EmailEvent.Kind.COMPLAINED, occurred_at__gte=since).count())
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
