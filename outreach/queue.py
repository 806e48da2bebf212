"""Why an open card (pending or approved) is or is not actionable for a live cycle.

One reason list a card, shared by `trace_queue`, `cleanup_queue`, the API and
preflight's queue facts. (The review desk's slices in outreach.review count the
pending queue for reviewers; this module explains each card, approved ones too.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from outreach.models import CardStatus, PendingEmail
from ramp.limits import sendable_tiers
from ramp.models import RampPolicy

OPEN_STATUSES = (CardStatus.PENDING, CardStatus.APPROVED)

STALE = "stale"
CANARY = "canary"
SHADOW = "shadow"
TIER_NOT_ALLOWED = "tier_not_allowed"
INCONSISTENT = "inconsistent"
SUPPRESSED = "suppressed"

# Cleanup rejects cards for these reasons. Shadow cards are the offline
# training lane: they stay for review and can never be dispatched anyway.
HYGIENE_REASONS = frozenset({STALE, CANARY, TIER_NOT_ALLOWED, INCONSISTENT, SUPPRESSED})


@dataclass(frozen=True)
class QueueRules:
    """The moving parts of the rules, read once per pass."""

    now: dt.datetime
    stale_cutoff: dt.datetime
    sendable_tiers: tuple[str, ...]
    canary_open: bool

    @classmethod
    def current(cls, now: dt.datetime | None = None) -> QueueRules:
        now = now or timezone.now()
        policy = RampPolicy.get()
        return cls(
            now=now,
            stale_cutoff=now - dt.timedelta(hours=settings.PENDING_QUEUE_MAX_AGE_HOURS),
            sendable_tiers=tuple(sendable_tiers(policy)),
            # Canary cards are live traffic only once the ramp has graduated.
            canary_open=policy.graduation_level > 0,
        )


def inconsistency(card: PendingEmail) -> str:
    """Return how the card's classifier/campaign_ref disagree with its campaign or lead tier ('' when they agree)."""
    campaign, lead = card.campaign, card.lead
    problems = []
    if card.campaign_ref != campaign.ref:
        problems.append(f"campaign_ref {card.campaign_ref!r} but campaign {campaign.ref!r}")
    if card.classifier != campaign.classifier:
        problems.append(f"classifier {card.classifier!r} but campaign expects {campaign.classifier!r}")
    if lead.tier != campaign.tier:
        problems.append(f"lead is {lead.tier} but campaign targets {campaign.tier}")
    label_tier = next((t for t in ("tier_1", "tier_2", "tier_3") if card.classifier.endswith(t)), None)
    if label_tier and label_tier != lead.tier:
        problems.append(f"classifier says {label_tier} but lead is {lead.tier}")
    return "; ".join(problems)


@dataclass
class CardView:
    card: PendingEmail
    reasons: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def visible(self) -> bool:
        return not self.reasons

    @property
    def hygiene_reasons(self) -> list[str]:
        return [r for r in self.reasons if r in HYGIENE_REASONS]


def explain(card: PendingEmail, rules: QueueRules) -> CardView:
    """Return the card with every reason it is excluded from the actionable queue."""
    view = CardView(card)
    if card.created_at < rules.stale_cutoff:
        view.reasons.append(STALE)
        view.details.append(f"older than {settings.PENDING_QUEUE_MAX_AGE_HOURS}h")
    if card.is_canary and not rules.canary_open:
        view.reasons.append(CANARY)
        view.details.append("canary card while the ramp has not graduated")
    if card.is_shadow:
        view.reasons.append(SHADOW)
        view.details.append("shadow card (review only)")
    if card.lead.tier not in rules.sendable_tiers:
        view.reasons.append(TIER_NOT_ALLOWED)
        view.details.append(f"{card.lead.tier} not in {', '.join(rules.sendable_tiers)}")
    if problem := inconsistency(card):
        view.reasons.append(INCONSISTENT)
        view.details.append(problem)
    if suppression := card.lead.suppression_reason():
        view.reasons.append(SUPPRESSED)
        view.details.append(f"lead {suppression}")
    return view


def open_cards():
    return PendingEmail.objects.filter(status__in=OPEN_STATUSES).select_related("lead", "campaign", "step").order_by("created_at", "pk")


def explain_queue(rules: QueueRules | None = None) -> list[CardView]:
    rules = rules or QueueRules.current()
    return [explain(card, rules) for card in open_cards()]
