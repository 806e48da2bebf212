"""Review services: the review desk's queue, the review SLAs and the reviewer's decisions.

The admin (card page, bulk actions), the API and the commands all call these
functions; none of them holds a review rule of its own. Every status change
goes through `outreach.transitions.transition`.

The desk's queue is the pending cards, split by `outreach.eligibility`: a
pending card is *eligible* when no eligibility rule holds it back; every other
pending card is counted once, under the first rule that holds it back. So
`pending == eligible + sum(held back by each code)`, and the desk, the
commands and the API can never disagree about a card.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import formats, timezone
from django.utils.timesince import timesince

from outreach import checks, eligibility
from outreach.drafting.contract import card_grounding_failures
from outreach.approval import CLEARED_APPROVAL, approval_record, reopen
from outreach.eligibility import ELIGIBLE, Conditions
from outreach.models import CardEdit, CardStatus, PendingEmail, RejectionTag
from outreach.transitions import StateChanged, transition
from ramp.quality import Taxonomy

REVIEW_PERMISSION = "outreach.review_pendingemail"
EDIT_PERMISSION = "outreach.change_pendingemail"

# Queue slices: the eligible cards, one slice per eligibility rule, and all pending.
PENDING = "pending"
SLICES = (ELIGIBLE, *eligibility.CODES, PENDING)

# Review SLA states of a card.
SLA_OK = "ok"
SLA_FIRST_REVIEW_OVERDUE = "first_review_overdue"
SLA_DECISION_OVERDUE = "decision_overdue"
SLA_DECIDED = "decided"

# Only these states may be edited by a person; a queued card is the dispatcher's.


class ReviewRefused(Exception):
    """A review action was refused; `reason` says why in words a reviewer understands."""

    def __init__(self, reason: str, *, code: str = "refused") -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason)


# --- the queue split -------------------------------------------------------


def _slice_q(name: str, conditions: Conditions) -> Q:
    """Return the filter of one slice of the pending queue (see the module docstring)."""
    pending = Q(status=CardStatus.PENDING)
    if name == PENDING:
        return pending
    if name == ELIGIBLE:
        return pending & eligibility.eligible_q(conditions)
    raise ValueError(f"Unknown queue slice {name!r}; expected one of {', '.join(SLICES)}.")


def queue_slice(queryset: QuerySet | None, name: str, *, conditions: Conditions | None = None) -> QuerySet:
    """Return `queryset` (default: all cards) narrowed to one slice of the pending queue."""
    queryset = PendingEmail.objects.all() if queryset is None else queryset
    conditions = conditions or Conditions.current()
    if name in eligibility.CODES:
        pending = queryset.filter(status=CardStatus.PENDING)
        return eligibility.with_reason(pending, conditions).filter(**{eligibility.REASON: name})
    return queryset.filter(_slice_q(name, conditions))


def eligible_cards(*, conditions: Conditions | None = None) -> QuerySet:
    """Return the pending cards a reviewer can decide right now, oldest first."""
    return queue_slice(None, ELIGIBLE, conditions=conditions).order_by("created_at", "pk")


def queue_split(*, conditions: Conditions | None = None) -> dict[str, int]:
    """Return counts {pending, eligible, <each rule code>} of the pending queue, in one query."""
    conditions = conditions or Conditions.current()
    pending = PendingEmail.objects.filter(status=CardStatus.PENDING)
    counts = eligibility.count_by_reason(pending, conditions)
    counts[PENDING] = sum(counts.values())
    return {name: counts[name] for name in (PENDING, ELIGIBLE, *eligibility.CODES)}


def slice_label(name: str, conditions: Conditions) -> str:
    """Return how a slice reads on the desk, e.g. 'not tier_1' for the tier rule."""
    if name == "tier_not_sendable":
        return "not " + " or ".join(conditions.sendable_tiers) if conditions.sendable_tiers else "no tier sendable"
    return name.replace("_", " ")


def next_eligible(card: PendingEmail | None = None, *, conditions: Conditions | None = None) -> PendingEmail | None:
    """Return the eligible card after `card` in queue order, wrapping to the oldest; None when empty."""
    queryset = eligible_cards(conditions=conditions)
    if card is None:
        return queryset.first()
    queryset = queryset.exclude(pk=card.pk)
    later = queryset.filter(Q(created_at__gt=card.created_at) | Q(created_at=card.created_at, pk__gt=card.pk))
    return later.first() or queryset.first()


# --- review SLAs -----------------------------------------------------------


def sla_cutoffs(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """Return (first-review cutoff, decision cutoff): cards created before them are late."""
    now = now or timezone.now()
    return (
        now - dt.timedelta(minutes=settings.REVIEW_FIRST_SLA_MINUTES),
        now - dt.timedelta(minutes=settings.REVIEW_DECISION_SLA_MINUTES),
    )


def sla_breach_q(kind: str = "any", now: dt.datetime | None = None) -> Q:
    """Return the filter of pending cards past an SLA: `first_review`, `decision` or `any`."""
    first_cutoff, decision_cutoff = sla_cutoffs(now)
    first = Q(status=CardStatus.PENDING, first_viewed_at__isnull=True, created_at__lt=first_cutoff)
    decision = Q(status=CardStatus.PENDING, created_at__lt=decision_cutoff)
    return {"first_review": first, "decision": decision, "any": first | decision}[kind]


def sla_state(card: PendingEmail, now: dt.datetime | None = None) -> str:
    """Return the card's SLA state: decided, decision overdue, first review overdue, or ok."""
    if card.status != CardStatus.PENDING:
        return SLA_DECIDED
    first_cutoff, decision_cutoff = sla_cutoffs(now)
    if card.created_at < decision_cutoff:
        return SLA_DECISION_OVERDUE
    if card.first_viewed_at is None and card.created_at < first_cutoff:
        return SLA_FIRST_REVIEW_OVERDUE
    return SLA_OK


def sla_breaches(*, conditions: Conditions | None = None, now: dt.datetime | None = None) -> dict[str, int]:
    """Return {first_review, decision, any}: eligible cards past each SLA, in one query."""
    return eligible_cards(conditions=conditions).aggregate(
        first_review=Count("pk", filter=sla_breach_q("first_review", now)),
        decision=Count("pk", filter=sla_breach_q("decision", now)),
        any=Count("pk", filter=sla_breach_q("any", now)),
    )


def mark_viewed(card: PendingEmail, *, user) -> None:
    """Stop the first-review clock when a reviewer first opens a pending card."""
    if card.first_viewed_at is not None or card.status != CardStatus.PENDING:
        return
    if not _may(user, REVIEW_PERMISSION):
        return
    now = timezone.now()
    # Conditional update: two reviewers opening at once keep the earliest time.
    if PendingEmail.objects.filter(pk=card.pk, first_viewed_at__isnull=True).update(first_viewed_at=now):
        card.first_viewed_at = now


# --- decisions -------------------------------------------------------------


def reviewer_tags() -> QuerySet:
    """Return the rejection tags a person may choose: active and not reserved for the system."""
    return RejectionTag.objects.filter(active=True, system=False)


def rejection_taxonomy() -> Taxonomy:
    """Return the reviewers' tags and their version, for the Head of Sales' sign-off (ramp.quality).

    The version is a digest of every usable tag's slug, label and description:
    adding, relabelling, rewording or retiring a tag changes it, whether that
    happened in the admin, a migration or a shell, so no path can change the
    taxonomy without asking for the sign-off again.
    """
    rows = list(reviewer_tags().order_by("slug").values_list("slug", "label", "description"))
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:12]
    return Taxonomy(version=digest, tags=tuple(label for _, label, _ in rows))


def _may(user, permission: str) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(permission))


def _require(user, permission: str, action: str) -> None:
    if not _may(user, permission):
        raise ReviewRefused(f"You are not allowed to {action}.", code="permission")


def _lock(card: PendingEmail) -> PendingEmail:
    """Return the card re-read under a row lock (SQLite: the IMMEDIATE transaction's lock)."""
    try:
        return PendingEmail.objects.select_for_update().select_related("lead").get(pk=card.pk)
    except PendingEmail.DoesNotExist:
        raise ReviewRefused(f"Card {card.pk} no longer exists.", code="state_changed") from None


def _expect_state(seen: PendingEmail, current: PendingEmail, allowed: frozenset[str], action: str) -> None:
    """Refuse when the card moved since the caller read it, or when `action` does not apply to its state."""
    if current.status != seen.status:
        raise ReviewRefused(str(StateChanged(seen.pk, seen.status, current.status)), code="state_changed")
    if current.status not in allowed:
        raise ReviewRefused(
            f"This card is {current.get_status_display().lower()}; it cannot be {action}.", code="wrong_state"
        )


def approval_blockers(
    card: PendingEmail,
    *,
    user,
    now: dt.datetime | None = None,
    compliance: checks.ComplianceResult | None = None,
    verdict: eligibility.Verdict | None = None,
) -> list[str]:
    """Return why `user` may not approve `card` now; empty when nothing blocks.

    1. Only a pending card is approved.
    2. Every eligibility rule that makes the card never sendable (suppressed
       or excluded lead, stale, mislabelled, already sent...) blocks it, read
       live from the rule tables. Rules that only say "not yet" (shadow,
       canary, tier) do not: the card waits approved until they lift.
    3. A model-drafted card whose text is not grounded in its cited facts
       (outreach.drafting.contract: the same rule as the drafting check).
    4. Four eyes: the card's last editor may not approve it.
    5. With `compliance` (the card page), its failing checks that no
       eligibility rule already names; `approve` runs and records them itself.
    Pass the card's `verdict` when the caller has just judged it.
    """
    blockers = []
    if card.status != CardStatus.PENDING:
        blockers.append(f"This card is {card.get_status_display().lower()}; only pending cards can be approved.")
    verdict = verdict or eligibility.judge_one(card, Conditions.current(now))
    for code, detail in zip(verdict.reasons, verdict.details, strict=True):
        if not eligibility.rule(code).never_sendable:
            continue
        if code == "stale":
            blockers.append(
                f"This card is stale: drafted {timesince(card.created_at, now)} ago, past the "
                f"{settings.PENDING_QUEUE_MAX_AGE_HOURS}-hour limit. Stale cards are never approved; draft it afresh."
            )
        else:
            blockers.append(f"Held back ({code}): {detail}")
    # The drafting check's own rule, judged on the card as it is now (edited text, withdrawn facts).
    ungrounded = card_grounding_failures(card)
    if ungrounded:
        blockers.append("An ungrounded claim: " + "; ".join(ungrounded) + ".")
    if user is not None and (refusal := four_eyes_refusal(card, user=user)):
        blockers.append(refusal)
    if compliance is not None and card.status == CardStatus.PENDING:
        failing = [
            f"{finding.name}: {finding.reason}"
            for finding in compliance.findings
            if not finding.passed and finding.id not in eligibility.CHECKS_NAMED_BY_RULES
        ]
        if failing:
            blockers.append("It fails compliance: " + "; ".join(failing))
    return blockers


def current_authors(card: PendingEmail) -> list[CardEdit]:
    """Return, for each part of the card's current text a person wrote, the edit that wrote it (oldest first).

    A later edit of the same part replaces the earlier writer's words, so only
    the last edit of each part counts; an edit recorded without its part (before
    parts were recorded) counts for the whole text until both parts are rewritten.
    """
    latest: dict[str, CardEdit] = {}
    for edit_row in CardEdit.objects.filter(card_id=card.pk).select_related("author").order_by("created_at", "id"):
        if edit_row.part == CardEdit.Part.TEXT:
            latest = {CardEdit.Part.TEXT: edit_row}
        else:
            latest[edit_row.part] = edit_row
            if {CardEdit.Part.SUBJECT, CardEdit.Part.BODY} <= set(latest):
                latest.pop(CardEdit.Part.TEXT, None)
    return sorted(latest.values(), key=lambda row: (row.created_at, row.pk))


def four_eyes_refusal(card: PendingEmail, *, user) -> str:
    """Return why `user` may not approve `card` because they wrote part of its current text; "" when they did not.

    The refusal names every writer of the current text: "You edited the body on …; operator edited the subject on …".
    """
    authors = current_authors(card)
    if not any(row.author_id == user.pk for row in authors):
        return ""
    said = "; ".join(
        f"{'You' if row.author_id == user.pk else row.author} edited {row.get_part_display()} on "
        f"{formats.date_format(timezone.localtime(row.created_at), 'DATETIME_FORMAT')}"
        for row in authors
    )
    return f"{said}. Someone who wrote none of it must approve it (four eyes)."


def _record_decision(current: PendingEmail, to_status: str, *, user, reason: str, **fields) -> None:
    """Move a locked card to the reviewer's decision, stamping who decided and when (a decision is also a first review)."""
    now = timezone.now()
    transition(
        current,
        to_status,
        expected=current.status,
        actor=user,
        reason=reason,
        reviewed_by=user,
        reviewed_at=now,
        first_viewed_at=current.first_viewed_at or now,
        **fields,
    )


def approve(card: PendingEmail, *, user, seen_content_hash: str = "") -> PendingEmail:
    """Approve a pending card for sending, or raise ReviewRefused saying why not.

    1. The user must hold the review permission.
    2. Under a row lock, the card must still be in the state the caller saw
       (two reviewers at once: the second is refused, nothing is overwritten),
       and pending.
    3. Refuse a stale card, a suppressed lead, anyone who wrote part of its
       current text, and a send that changed since the caller read it
       (`seen_content_hash`: the hash of every part the approval covers).
    4. Re-run compliance and store the snapshot; refuse if any check fails.
    5. Move it to approved, storing what the approval covers and its hash
       (outreach.approval), the reviewer and the time.
    Shadow cards may be approved: the dispatcher never sends them.
    """
    _require(user, REVIEW_PERMISSION, "approve cards")
    compliance_failures: list[str] = []
    with transaction.atomic():
        current = _lock(card)
        _expect_state(card, current, frozenset({CardStatus.PENDING}), "approved")
        if blockers := approval_blockers(current, user=user):
            raise ReviewRefused(" ".join(blockers), code="blocked")
        if seen_content_hash and seen_content_hash != current.content_hash():
            raise ReviewRefused(
                "The email or its recipient changed since you opened it; read the new version before approving.",
                code="content_changed",
            )
        result = checks.record(current)
        if result.passed:
            _record_decision(
                current, CardStatus.APPROVED, user=user, reason="Approved in review.", **approval_record(current)
            )
        else:
            # Leave the block normally so the failing snapshot is kept for the page to show.
            compliance_failures = result.failures
    card.refresh_from_db()
    if compliance_failures:
        raise ReviewRefused("It fails compliance: " + "; ".join(compliance_failures), code="compliance")
    return card




def undo_deadline(card: PendingEmail) -> dt.datetime | None:
    """Return until when the card's decision may be undone; None when it has no decision to undo."""
    if card.status not in CardStatus.DECIDED or card.reviewed_at is None:
        return None
    return card.reviewed_at + dt.timedelta(seconds=settings.REVIEW_UNDO_SECONDS)


def undo(card: PendingEmail, *, user) -> PendingEmail:
    """Take back the user's own approval or rejection within the undo window: the card is pending again.

    1. The user must hold the review permission and be the card's reviewer.
    2. Under a row lock, the card must still be as the caller saw it, approved
       or rejected, and its decision younger than REVIEW_UNDO_SECONDS. The
       claim's `undo_window` rule keeps an approved card unclaimed that long,
       so an undone approval has never been queued.
    3. Move it to pending through transition(), clearing the decision.
    """
    _require(user, REVIEW_PERMISSION, "undo decisions")
    try:
        _undo_locked(card, user=user)
    except IntegrityError:
        # A rejected step may be redrafted at once; the new draft keeps its place.
        raise ReviewRefused("A newer draft of this step is already in the queue: review that one.", code="redrafted") from None
    card.refresh_from_db()
    return card


def _undo_locked(card: PendingEmail, *, user) -> None:
    with transaction.atomic():
        current = _lock(card)
        _expect_state(card, current, CardStatus.DECIDED, "undone")
        if current.reviewed_by_id != user.pk:
            raise ReviewRefused("Only the person who decided may undo the decision.", code="not_yours")
        deadline = undo_deadline(current)
        if deadline is None or timezone.now() >= deadline:
            raise ReviewRefused(
                f"Too late to undo: a decision can be undone for {settings.REVIEW_UNDO_SECONDS} seconds.", code="too_late"
            )
        transition(
            current,
            CardStatus.PENDING,
            expected=current.status,
            actor=user,
            reason=f"Undid the {current.status} decision.",
            **CLEARED_APPROVAL,
            rejection_tag=None,
            rejection_note="",
        )


def resolve_tag(tag: RejectionTag | str | int | None, *, for_system: bool = False) -> RejectionTag:
    """Return the RejectionTag named by an instance, slug or pk; refuse a missing or unusable one."""
    if tag in (None, ""):
        raise ReviewRefused("A rejection needs a tag: choose why this card is rejected.", code="tag_required")
    if not isinstance(tag, RejectionTag):
        lookup = {"pk": tag} if isinstance(tag, int) or str(tag).isdigit() else {"slug": tag}
        tag = RejectionTag.objects.filter(**lookup).first()
        if tag is None:
            raise ReviewRefused("Unknown rejection tag: choose one from the list.", code="tag_required")
    if not tag.active:
        raise ReviewRefused(f"The rejection tag “{tag.label}” is retired: choose another.", code="tag_required")
    if tag.system and not for_system:
        raise ReviewRefused(f"The tag “{tag.label}” is reserved for queue cleanup.", code="tag_required")
    return tag


def reject(card: PendingEmail, *, user, tag: RejectionTag | str | int | None, note: str = "") -> PendingEmail:
    """Reject a pending or approved card with a reviewer's tag (required) and optional note."""
    _require(user, REVIEW_PERMISSION, "reject cards")
    tag = resolve_tag(tag)
    note = (note or "").strip()
    with transaction.atomic():
        current = _lock(card)
        _expect_state(card, current, CardStatus.OPEN, "rejected")
        _record_decision(
            current,
            CardStatus.REJECTED,
            user=user,
            reason=f"Rejected in review: {tag.label}." + (f" {note}" if note else ""),
            rejection_tag=tag,
            rejection_note=note,
        )
    card.refresh_from_db()
    return card


def edit_diff(before: str, after: str) -> str:
    """Return the unified diff from a part's text to its edited text."""
    return "\n".join(difflib.unified_diff(before.splitlines(), after.splitlines(), "drafted", "edited", lineterm="", n=0))


def edit(card: PendingEmail, *, user, subject: str, body: str) -> PendingEmail:
    """Change a card's subject and body; an approved card goes back to review.

    1. The user must hold the change permission; the card must be pending or approved.
    2. Store the new content with who edited it and when, and a CardEdit row per
       part changed (no writer of the current text may approve it).
    3. An approved card returns to pending through transition(), clearing its approval.
    4. Re-run compliance on the new content.
    """
    _require(user, EDIT_PERMISSION, "edit cards")
    if not (subject or "").strip() or not (body or "").strip():
        raise ReviewRefused("Subject and body cannot be empty.", code="invalid")
    with transaction.atomic():
        current = _lock(card)
        _expect_state(card, current, CardStatus.OPEN, "edited")
        if current.subject == subject and current.body == body:
            return card
        now = timezone.now()
        parts = [part for part, old, new in ((CardEdit.Part.SUBJECT, current.subject, subject), (CardEdit.Part.BODY, current.body, body)) if old != new]
        # Each part's change kept as a diff: what the reviewer changed is what the drafter learns from.
        texts = {CardEdit.Part.SUBJECT: (current.subject, subject), CardEdit.Part.BODY: (current.body, body)}
        CardEdit.objects.bulk_create(
            [CardEdit(card_id=current.pk, part=part, author=user, created_at=now, diff=edit_diff(*texts[part])) for part in parts]
        )
        content = {"subject": subject, "body": body, "last_edited_by": user, "edited_at": now}
        if current.status == CardStatus.APPROVED:
            reopen(current, parts, actor=user, detail=f"edited by {user}", **content)
        else:
            # Compare-and-set on status: an approval that slipped in would be a StateChanged above.
            PendingEmail.objects.filter(pk=current.pk, status=CardStatus.PENDING).update(updated_at=now, **content)
            for name, value in content.items():
                setattr(current, name, value)
        checks.record(current)
    card.refresh_from_db()
    return card
