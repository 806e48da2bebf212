"""What an approval binds, and the one service that takes an approval back when any of it changes.

An approval covers the whole send (models.APPROVAL_PARTS): the recipient as
the email names them, the GHL contact when one is known, the From line,
subject, body, footer and campaign step. The reviewer's view of those parts is
stored with the approval (`approved_parts`, hashed into
`approved_content_hash`). Whatever changes one of them afterwards (the lead
admin, a lead import, a GHL ContactUpdate, the pipeline, a data fix found by
the send job), the card goes back to pending through `reopen`, with a
transition reason naming what changed.
"""

from __future__ import annotations

from django.db.models import QuerySet

from outreach.sending.claims import release
from outreach.models import APPROVAL_PARTS, CardStatus, Lead, PendingEmail, approval_hash
from outreach.transitions import StateChanged, transition

CONTACT = "GHL contact"
# Stored on a card whose approval is taken back: nothing of it stands.
CLEARED_APPROVAL = {"approved_content_hash": "", "approved_parts": {}, "reviewed_by": None, "reviewed_at": None}


def approval_record(card: PendingEmail) -> dict[str, str]:
    """Return the fields approve() stores: the parts the reviewer saw and their hash."""
    parts = card.approval_parts()
    return {"approved_parts": parts, "approved_content_hash": approval_hash(parts)}


def approval_changes(card: PendingEmail) -> list[str]:
    """Return the covered parts that differ from what was approved, in APPROVAL_PARTS order; [] when it still holds.

    A GHL contact unknown at approval is not a change when the product's
    upsert finds it later: the approval named the address, and the send goes
    to the contact GHL matched to that address. A card without a standing
    approval has nothing that could match.
    """
    approved = card.approved_parts or {}
    if not card.approved_content_hash or set(approved) != set(APPROVAL_PARTS):
        return ["approval"]
    if approval_hash(approved) != card.approved_content_hash:
        # The record of what was approved was itself changed.
        return ["approval"]
    current = card.approval_parts()
    return [
        name
        for name in APPROVAL_PARTS
        if current[name] != approved[name] and not (name == CONTACT and not approved[name])
    ]


def describe(changes: list[str]) -> str:
    """Return e.g. "recipient changed after approval" or "subject and body changed after approval"."""
    names = list(changes)
    said = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{said} changed after approval"


def reopen(card: PendingEmail, changes: list[str], *, actor=None, actor_label: str = "", detail: str = "", **fields) -> bool:
    """Return an approved or queued card to pending, its approval cleared, naming what changed; False when it had moved on.

    `fields` are stored with the move (an edit's new text). A queued card gives
    its claim back to the day it was claimed on (claims.release).
    """
    reason = describe(changes) + (f" ({detail})" if detail else "") + ": back to review"
    label = actor_label or ("" if actor is not None else "approval check")
    if card.status == CardStatus.QUEUED:
        return release(card.pk, CardStatus.QUEUED, CardStatus.PENDING, reason=reason, actor=actor, actor_label=label, **CLEARED_APPROVAL, **fields)
    try:
        transition(card, CardStatus.PENDING, expected=CardStatus.APPROVED, actor=actor, actor_label=label, reason=reason, **CLEARED_APPROVAL, **fields)
    except StateChanged:
        return False
    return True


def reopen_after_save(sender, instance, created: bool = False, raw: bool = False, **kwargs) -> None:
    """After a lead or a campaign is saved, whatever the path (admin, import, shell), take back the
    approvals of its cards whose covered parts changed: a new address or name, a new From line.

    Connected in OutreachConfig.ready for Lead and Campaign. A queryset update
    skips it; the send job's last check (`approval_changes`) still refuses such a card.
    """
    if created or raw:
        return
    cards = PendingEmail.objects.filter(lead_id=instance.pk) if sender is Lead else PendingEmail.objects.filter(campaign_id=instance.pk)
    reopen_changed_approvals(cards)


def standing_approvals(cards: QuerySet) -> QuerySet:
    """Return the cards of `cards` whose approval still stands and can be taken back: approved or queued."""
    return cards.filter(status__in=CardStatus.STOPPABLE).exclude(status=CardStatus.PENDING)


def reopen_changed_approvals(cards: QuerySet, *, actor=None, actor_label: str = "") -> list[int]:
    """Reopen every card of `cards` whose approval no longer matches what it would send; return their ids."""
    reopened = []
    for card in standing_approvals(cards).select_related("lead", "campaign", "step"):
        changes = approval_changes(card)
        if changes and reopen(card, changes, actor=actor, actor_label=actor_label):
            reopened.append(card.pk)
    return reopened
