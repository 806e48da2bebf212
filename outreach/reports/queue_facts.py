"""The operator's read-outs over outreach data: stop-condition facts, queue traces and
queue hygiene. Commands, preflight and the API call these (the daily report's
counts are in `outreach.reports.daily`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone

from outreach import eligibility, review
from outreach.models import CardStatus, CardTransition, PendingEmail, RejectionTag, WebhookDelivery, WebhookRefusal
from outreach.reports.outcomes import DELIVERABILITY_WINDOW_DAYS, deliverability_facts
from outreach.transitions import DRAFTED, StateChanged, transition
from ramp import stop_conditions
from ramp.cycles import LiveCycle
from ramp.models import QueueTrace

logger = logging.getLogger(__name__)

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
    for verdict in eligibility.judge_queue(conditions, statuses=CardStatus.STOPPABLE):
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
    deliverability_facts(facts, now=now)
    facts.intake = intake_facts(now=now)
    return facts


def intake_facts(*, now: dt.datetime | None = None) -> stop_conditions.IntakeFacts:
    """Gather the webhook intake's state for preflight (P11), the index and /api/ramp.

    The window starts at the last live cycle's start or 24 hours back,
    whichever is earlier: events lost over a weekend without cycles still count.
    1. Signature refusals in the window (and what the per-minute cap dropped).
    2. Sends in the window older than WEBHOOK_SILENCE_MINUTES when no delivery
       at all has been received since the first of them.
    """
    now = now or timezone.now()
    since = now - dt.timedelta(hours=24)
    last_cycle = LiveCycle.objects.exclude(outcome=LiveCycle.Outcome.REFUSED).order_by("-started_at").first()
    if last_cycle is not None and last_cycle.started_at < since:
        since = last_cycle.started_at
    facts = stop_conditions.IntakeFacts(since=since, silence_minutes=settings.WEBHOOK_SILENCE_MINUTES)

    refusals = WebhookRefusal.objects.filter(reason=WebhookRefusal.Reason.SIGNATURE, received_at__gte=since)
    rows = list(refusals.order_by("received_at", "pk").values_list("pk", "detail", "dropped"))
    facts.refusals = len(rows)
    facts.dropped = sum(dropped for _, _, dropped in rows)
    facts.first_refusal = rows[0][1] if rows else ""
    facts.refusal_evidence = [f"refusal:{pk}" for pk, _, _ in rows]

    facts.last_delivery_at = WebhookDelivery.objects.order_by("-received_at").values_list("received_at", flat=True).first()
    silent_since = now - dt.timedelta(minutes=settings.WEBHOOK_SILENCE_MINUTES)
    # A day's sends are a few dozen at most (the ramp's cap): read in one query.
    due = list(
        PendingEmail.objects.filter(sent_at__gte=since, sent_at__lte=silent_since)
        .order_by("sent_at", "pk")
        .values_list("pk", "sent_at")
    )
    if due and (facts.last_delivery_at is None or facts.last_delivery_at < due[0][1]):
        facts.silent_sends = len(due)
        facts.first_silent_send_at = due[0][1]
        facts.silent_evidence = [f"silent-send:card:{pk}" for pk, _ in due]
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


# A stored trace keeps each open card's place in the counts under this key, so the
# next trace can tell what recorded operations moved from what nothing explains.
OPEN_CARDS = "open_cards"
# ... and the last card transition it had seen: the next trace explains by the ones after it.
TRANSITIONS_SEEN = "transitions_seen"


def _row(verdict: eligibility.Verdict) -> list[str]:
    card = verdict.card
    return [card.lead.tier, card.classifier, card.campaign_ref, card.route, verdict.reason]


def _place(status: str, row: list[str] | None) -> dict:
    """Return what one card adds to the counts: its status, and when open its tier, labels and verdict."""
    place: dict = {"by_status": {status: 1}}
    if status in CardStatus.OPEN and row is not None:
        tier, classifier, campaign, route, reason = row
        held = reason != eligibility.ELIGIBLE
        place.update(
            open=1,
            by_tier={tier: 1},
            by_classifier={classifier: 1},
            by_campaign={campaign: 1},
            by_route={route: 1},
            eligible=0 if held else 1,
            held_back=1 if held else 0,
            held_back_by_reason={reason: 1} if held else {},
        )
    return place


def _shift(counts: dict, place: dict, sign: int) -> None:
    for group, value in place.items():
        if group not in counts:
            # A count the previous trace did not take is not compared (see drift_between).
            continue
        if isinstance(value, dict):
            bucket = counts.setdefault(group, {})
            for key, n in value.items():
                bucket[key] = bucket.get(key, 0) + sign * n
        else:
            counts[group] = counts.get(group, 0) + sign * value


def explained_by_operations(
    previous: QueueTrace, verdicts: list[eligibility.Verdict], conditions: eligibility.Conditions, *, seen: int
) -> tuple[dict, list[str]]:
    """Return the previous trace's counts moved by every change recorded or derivable since, and one line per cause.

    1. Recorded changes: every status change goes through transition() and
       every card drafted, redrafted or drafted by the cadence through
       record_drafted(), each writing a CardTransition. A moved card is taken
       out of the counts where the previous trace placed it and put back where
       it is now; a drafted card only put in.
    2. Derivable changes: an open card whose status did not move but whose
       verdict did (it aged into stale, its lead was suppressed, a rule was
       added, its undo window ended) is moved by the eligibility rules, which
       judge live and name their reason; a tier that moved with its lead's
       recorded edit is the edit's.
    What is left between these counts and the current ones has no recorded
    cause: drift (a status, tier or label changed behind the product's back,
    a card that arrived by no drafting). A card the previous trace did not
    place, or a trace stored before places were kept, is placed by judging
    it now in the status it left, so a change nothing recorded stays unexplained.
    """
    if TRANSITIONS_SEEN in previous.counts:
        # By row, not by time: a change made in the same instant as a trace is still after it.
        since = CardTransition.objects.filter(pk__gt=previous.counts[TRANSITIONS_SEEN], pk__lte=seen)
    else:
        since = CardTransition.objects.filter(created_at__gt=previous.taken_at, created_at__lte=conditions.now)
    moves = since.order_by("pk").values_list("card_id", "from_status", "to_status", "actor_label", "actor__username")
    left_from: dict[int, str] = {}
    # Where the records leave each card: a status written since with no record is not explained by them.
    recorded_to: dict[int, str] = {}
    operations: Counter = Counter()
    for card_id, from_status, to_status, label, username in moves:
        left_from.setdefault(card_id, from_status)
        recorded_to[card_id] = to_status
        operations[(username or label or "unnamed", from_status or "drafted", to_status)] += 1
    counts = {
        group: (dict(value) if isinstance(value, dict) else value)
        for group, value in previous.counts.items()
        if group not in (OPEN_CARDS, TRANSITIONS_SEEN)
    }
    placed = previous.counts.get(OPEN_CARDS, {})
    now_rows = {v.card.pk: _row(v) for v in verdicts}
    now_status = dict(PendingEmail.objects.filter(pk__in=list(left_from)).values_list("pk", "status"))
    unplaced = [
        pk
        for pk, status in left_from.items()
        if status in CardStatus.OPEN and str(pk) not in placed and pk in now_status
    ]
    judged = _judged_in(unplaced, left_from, conditions)
    # Cards that are not where their last record left them: judged there, since that is all the records explain.
    elsewhere = [
        pk for pk, status in recorded_to.items() if pk in now_status and now_status[pk] != status and status in CardStatus.OPEN
    ]
    judged_after = _judged_in(elsewhere, recorded_to, conditions)
    for pk, before_status in left_from.items():
        if pk not in now_status:
            continue
        if before_status != DRAFTED:
            _shift(counts, _place(before_status, placed.get(str(pk)) or judged.get(pk)), -1)
        after = recorded_to[pk]
        _shift(counts, _place(after, now_rows.get(pk) if now_status[pk] == after else judged_after.get(pk)), +1)
    lines = [f"{who}: {n} card(s) {before} -> {after}" for (who, before, after), n in sorted(operations.items())]
    lines += _moved_by_rules(counts, placed, now_rows, left_from, since=previous.taken_at)
    return counts, lines


def _judged_in(ids: list[int], statuses: dict[int, str], conditions: eligibility.Conditions) -> dict[int, list[str]]:
    """Return the rows of the cards `ids` as they would be judged in the given statuses."""
    if not ids:
        return {}
    cards = list(eligibility.open_cards(CardStatus.values).filter(pk__in=ids))
    for card in cards:
        card.status = statuses[card.pk]
    return {v.card.pk: _row(v) for v in eligibility.judge(cards, conditions)}


# The place of a card's verdict in a stored row (see _row): tier, classifier, campaign, route, reason.
TIER, REASON = 0, 4


def _verdict_name(reason: str) -> str:
    return reason if reason == eligibility.ELIGIBLE else f"held back: {reason}"


def _moved_by_rules(counts: dict, placed: dict, now_rows: dict, moved: dict, *, since: dt.datetime) -> list[str]:
    """Move the open cards no transition touched whose verdict (or tier, with its lead's edit) changed; return the lines."""
    changed = [
        (pk, placed[str(pk)], row)
        for pk, row in now_rows.items()
        if pk not in moved and str(pk) in placed and placed[str(pk)] != row
    ]
    edited_leads = set()
    if any(before[TIER] != row[TIER] for _, before, row in changed):
        ids = [pk for pk, before, row in changed if before[TIER] != row[TIER]]
        edited_leads = set(PendingEmail.objects.filter(pk__in=ids, lead__updated_at__gt=since).values_list("pk", flat=True))
    causes: Counter = Counter()
    for pk, before, row in changed:
        labels_moved = [i for i in range(REASON) if before[i] != row[i]]
        if labels_moved and (labels_moved != [TIER] or pk not in edited_leads):
            # A label changed with no record: left unexplained, so it shows as drift.
            continue
        status = CardStatus.PENDING  # any open status: _place only asks whether the card is open
        _shift(counts, _place(status, before), -1)
        _shift(counts, _place(status, row), +1)
        if labels_moved:
            causes[("lead edits", f"tier {before[TIER]}", f"tier {row[TIER]}")] += 1
        if before[REASON] != row[REASON]:
            causes[("eligibility rules", _verdict_name(before[REASON]), _verdict_name(row[REASON]))] += 1
    return [f"{who}: {n} card(s) {before} -> {after}" for (who, before, after), n in sorted(causes.items())]


@dataclass
class Trace:
    counts: dict
    previous_at: dt.datetime | None
    changes: dict
    flags: list[str]
    verdicts: list[eligibility.Verdict] = field(default_factory=list)
    stored: QueueTrace | None = None
    # The recorded operations since the previous trace, which account for part of `changes`.
    explained: list[str] = field(default_factory=list)


def take_trace(*, threshold: int, taken_by: str = "", store: bool = True, now: dt.datetime | None = None) -> Trace:
    """Count the queue, compare with the last stored trace and store this one.

    `changes` are every count that moved; `flags` (drift) only judge what the
    recorded operations since the previous trace do not explain.
    """
    conditions = eligibility.Conditions.current(now)
    # Read before the queue: a transition written while it is judged is explained by the next trace.
    seen = CardTransition.objects.aggregate(last=Max("pk"))["last"] or 0
    verdicts = eligibility.judge_queue(conditions)
    counts = trace_counts(verdicts)
    previous = QueueTrace.objects.order_by("-taken_at", "-pk").first()
    changes: dict = {}
    flags: list[str] = []
    explained: list[str] = []
    if previous:
        changes, _ = drift_between(previous.counts, counts, threshold=threshold)
        expected, explained = explained_by_operations(previous, verdicts, conditions, seen=seen)
        _, flags = drift_between(expected, counts, threshold=threshold)
    trace = Trace(counts, previous.taken_at if previous else None, changes, flags, verdicts, explained=explained)
    if store:
        trace.stored = QueueTrace.objects.create(
            taken_at=conditions.now,
            taken_by=taken_by,
            counts={**counts, OPEN_CARDS: {str(v.card.pk): _row(v) for v in verdicts}, TRANSITIONS_SEEN: seen},
            drift={"changes": changes, "explained": explained, "flags": flags},
            drift_flagged=bool(flags),
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
