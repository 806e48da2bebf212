"""Suppression: the one function that makes a lead uncontactable everywhere.

`suppress_lead` is called by the unsubscribe page, and by anything else that
learns a lead must not be emailed (GHL bounce/unsubscribe/complaint webhooks,
an operator). Everything happens in one transaction, before the caller
answers: the lead's flag, the history row, its active enrollments stopped, its
pending/approved cards rejected (compliance_failure) and its queued cards
failed. Cards already `sending`/`unknown` are in flight: the dispatch re-check
and reconcile own them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from compliance.models import Suppression
from outreach.inbound import evidence
from outreach.models import CardStatus, Enrollment, Lead, PendingEmail, RejectionTag
from outreach.transitions import StateChanged, transition

logger = logging.getLogger(__name__)

COMPLIANCE_FAILURE_TAG = "compliance_failure"
# Statuses a suppression takes a card out of, and where each goes.
_WITHDRAW_TO = {
    CardStatus.PENDING: CardStatus.REJECTED,
    CardStatus.APPROVED: CardStatus.REJECTED,
    CardStatus.QUEUED: CardStatus.FAILED,
}


@dataclass
class SuppressionOutcome:
    lead_id: int
    kind: str
    newly_suppressed: bool
    enrollments_stopped: int = 0
    cards_rejected: list[int] = field(default_factory=list)
    cards_failed: list[int] = field(default_factory=list)


def suppress_lead(lead: Lead, *, reason: str, source: str, note: str = "", landed: str = "") -> SuppressionOutcome:
    """Suppress `lead` for `reason` (unsubscribed, bounced, complained, do_not_contact).

    1. Refuse an unknown reason with ValueError (nothing changes).
    2. Set the lead's flag; a second call keeps the first timestamp.
    3. Write a compliance.Suppression history row naming `source`.
    4. Stop the lead's active enrollments (stop_reason = reason).
    5. Reject its pending/approved cards with the compliance_failure tag and
       fail its queued cards ("lead <reason>"), through transition(); a card
       someone else moved meanwhile is handled in its new state.
    6. When the reason is deliverability evidence (bounced, complained,
       unsubscribed), judge the stop conditions now, in this transaction
       (`outreach.inbound.evidence`); `landed` names what brought it for the
       hold's reason (default: `source`).
    Safe to call again: it only finishes what is left.
    """
    if reason not in Suppression.Kind.values:
        raise ValueError(f"Unknown suppression reason {reason!r}; use one of {', '.join(Suppression.Kind.values)}.")
    now = timezone.now()
    with transaction.atomic():
        newly = _flag_lead(lead, reason, note or source, now)
        Suppression.objects.create(lead_id=lead.pk, email=lead.email, kind=reason, source=source, note=note[:255], created_at=now)
        stopped = Enrollment.objects.filter(lead_id=lead.pk, status=Enrollment.Status.ACTIVE).update(
            status=Enrollment.Status.STOPPED, stop_reason=reason, stopped_at=now
        )
        outcome = SuppressionOutcome(lead_id=lead.pk, kind=reason, newly_suppressed=newly, enrollments_stopped=stopped)
        tag = RejectionTag.objects.get(slug=COMPLIANCE_FAILURE_TAG)
        why = f"lead {reason.replace('_', '-')}"  # e.g. "lead unsubscribed", "lead do-not-contact"
        for card in PendingEmail.objects.filter(lead_id=lead.pk, status__in=list(_WITHDRAW_TO)):
            final = _withdraw(card, tag=tag, why=why, actor_label=f"suppression:{source}"[:100])
            if final == CardStatus.REJECTED:
                outcome.cards_rejected.append(card.pk)
            elif final == CardStatus.FAILED:
                outcome.cards_failed.append(card.pk)
        if reason in evidence.EVIDENCE_REASONS:
            evidence.judge_landed(landed=landed or source, now=now)
    logger.info(
        "Suppressed lead %s (%s via %s): %s enrollments stopped, %s cards rejected, %s failed",
        lead.pk, reason, source, stopped, len(outcome.cards_rejected), len(outcome.cards_failed),
    )
    return outcome


def _flag_lead(lead: Lead, reason: str, why: str, now) -> bool:
    """Set the lead's suppression flag in the database and on `lead`; return whether it was newly set."""
    leads = Lead.objects.filter(pk=lead.pk)
    if reason == Suppression.Kind.UNSUBSCRIBED:
        changed = leads.filter(unsubscribed_at__isnull=True).update(unsubscribed_at=now, updated_at=now)
    elif reason == Suppression.Kind.BOUNCED:
        changed = leads.filter(bounced_at__isnull=True).update(bounced_at=now, updated_at=now)
    else:
        label = "spam complaint" if reason == Suppression.Kind.COMPLAINED else why
        changed = leads.filter(do_not_contact=False).update(
            do_not_contact=True, do_not_contact_reason=label[:255], updated_at=now
        )
    lead.refresh_from_db(fields=["unsubscribed_at", "bounced_at", "do_not_contact", "do_not_contact_reason"])
    return changed == 1


def _withdraw(card: PendingEmail, *, tag: RejectionTag, why: str, actor_label: str) -> str | None:
    """Move `card` out of the sendable states; return the status it ends in (None if gone)."""
    for _attempt in range(len(_WITHDRAW_TO) + 1):
        target = _WITHDRAW_TO.get(card.status)
        if target is None:
            return card.status
        try:
            if target == CardStatus.REJECTED:
                transition(card, target, actor_label=actor_label, reason=why, rejection_tag=tag, rejection_note=why)
            else:
                transition(card, target, actor_label=actor_label, reason=why, last_error=why)
            return target
        except StateChanged as exc:
            # Someone (a reviewer, the send cycle) moved it first: act on where it is now.
            if exc.actual is None:
                return None
            card.status = exc.actual
    return card.status
