"""A change to an exclusion rule reaches the whole queue at once.

Eligibility reads the do-not-contact list and the excluded domains live, so
every count, the API, `trace_queue` and `cleanup_queue` see a new rule at once.
What is stored on a card is its compliance snapshot (`compliance`,
`compliance_passed`), which the desk's list and the API show: when a rule is
saved or deleted, the open cards it can change are checked again and their
snapshot rewritten, so no page shows a stale pass. `impact` answers the
admin's preview: which open cards and leads a rule will hit before it is saved.
"""

from __future__ import annotations

from django.db.models import Q

from compliance.impact import LISTED, Impact
from compliance.models import DoNotContact, ExcludedDomain
from compliance.rules import rule_hits_q
from outreach.checks import CheckContext, evaluate
from outreach.eligibility import OPEN_STATUSES, open_cards
from outreach.models import Lead, PendingEmail


def impact(*, email: str | None, domain: str) -> Impact:
    """Return the open cards and the leads a rule with these canonical values hits."""
    cards = open_cards().filter(rule_hits_q(email=email, domain=domain))
    leads = Lead.objects.filter(rule_hits_q(email=email, domain=domain, lead_prefix="")).order_by("email")
    return Impact(
        cards=[
            f"card {card.pk} to {card.lead.email} ({card.status}, {card.campaign_ref} step {card.step.number})"
            for card in cards[:LISTED]
        ],
        leads=[f"{lead.email} ({lead.company or lead.domain or 'no company'}, {lead.tier})" for lead in leads[:LISTED]],
        card_total=cards.count(),
        lead_total=leads.count(),
    )


def refresh_open_cards(where: Q | None = None) -> int:
    """Check the open cards matching `where` (all when None) again and store their snapshot; return how many changed."""
    cards = list(open_cards().filter(where) if where is not None else open_cards())
    context = CheckContext.for_cards(cards)
    changed = 0
    for card in cards:
        result = evaluate(card, context=context)
        snapshot = result.snapshot()
        if result.passed == card.compliance_passed and card.compliance.get("findings") == snapshot.get("findings"):
            continue
        PendingEmail.objects.filter(pk=card.pk, status__in=OPEN_STATUSES).update(compliance=snapshot, compliance_passed=result.passed)
        changed += 1
    return changed


def _rule_values(rule: ExcludedDomain | DoNotContact) -> tuple[str | None, str]:
    if isinstance(rule, DoNotContact):
        return rule.email, rule.domain
    return None, rule.domain


def rule_changed(sender, instance: ExcludedDomain | DoNotContact, **kwargs) -> None:
    """After a rule is saved or deleted: refresh the open cards it hits, and those that failed (a rule gone may free them)."""
    email, domain = _rule_values(instance)
    refresh_open_cards(rule_hits_q(email=email, domain=domain) | Q(compliance_passed=False))
