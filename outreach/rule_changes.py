"""A change to exclusion rules reaches the whole queue at once.

Eligibility reads the do-not-contact list and the excluded domains live, so
every count, the API, `trace_queue` and `cleanup_queue` see a new rule at once.
What is stored on a card is its compliance snapshot (`compliance`,
`compliance_passed`), which the desk's list and the API show: after rules are
added, changed or removed through `compliance.services`, `rules_changed`
checks the open cards they can change again and rewrites their snapshot, so no
page shows a stale pass. `impact` answers the previews (the rule form and the
CSV import): which open cards and leads the rules will hit before they are saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

from compliance.checks import covering_domain
from compliance.identity import email_domain_of
from compliance.impact import LISTED, Impact
from compliance.rules import rule_hits_q
from outreach.checks import CheckContext, evaluate
from outreach.eligibility import open_cards
from outreach.models import CardStatus, Lead, PendingEmail

RuleValues = tuple[str | None, str]
# Up to this many rules are asked in SQL, ORed into one query; each adds four comparisons a row, so past
# about twenty (measured on 20,000 leads) reading the rows once and matching in Python is faster.
RULES_PER_QUERY = 20
# Past this many hit cards, checking every open card again is cheaper than naming them in the query.
NAMED_CARDS = 5_000


def _hit_ids(queryset: QuerySet, rules: Sequence[RuleValues], *, lead_prefix: str, key: str) -> dict[int, object]:
    """Return {pk: key value} of the rows of `queryset` any of `rules` hits.

    A few rules are one SQL filter (compliance.rules.rule_hits_q). Many rules
    would make the query grow with the file, so the rows' addresses and
    domains are read once and matched against the rules with the checks' own
    coverage test (compliance.checks.covering_domain).
    """
    if not rules:
        return {}
    if len(rules) <= RULES_PER_QUERY:
        where = reduce(or_, (rule_hits_q(email=email, domain=domain, lead_prefix=lead_prefix) for email, domain in rules))
        return dict(queryset.filter(where).values_list("pk", key))
    emails = frozenset(email for email, _ in rules if email)
    domains = frozenset(domain for email, domain in rules if not email)
    found: dict[int, object] = {}
    rows = queryset.values_list("pk", key, f"{lead_prefix}email", f"{lead_prefix}domain")
    for pk, value, email, domain in rows.iterator(chunk_size=2_000):
        if email in emails or covering_domain((domain, email_domain_of(email)), domains):
            found[pk] = value
    return found


def impact(*, rules: Sequence[RuleValues]) -> Impact:
    """Return the open cards and the leads any of these rules (canonical values) hits, each once."""
    cards = _hit_ids(open_cards().order_by(), rules, lead_prefix="lead__", key="created_at")
    leads = _hit_ids(Lead.objects.order_by(), rules, lead_prefix="", key="email")
    # Listed in the order the queue and the lead list show them: oldest card first, leads by address.
    listed_cards = sorted(cards, key=lambda pk: (cards[pk], pk))[:LISTED]
    listed_leads = sorted(leads, key=lambda pk: (leads[pk], pk))[:LISTED]
    card_rows = {card.pk: card for card in open_cards().filter(pk__in=listed_cards)}
    lead_rows = Lead.objects.in_bulk(listed_leads)
    return Impact(
        cards=[
            f"card {card.pk} to {card.lead.email} ({card.status}, {card.campaign_ref} step {card.step.number})"
            for card in (card_rows[pk] for pk in listed_cards)
        ],
        leads=[
            f"{lead.email} ({lead.company or lead.domain or 'no company'}, {lead.tier})" for lead in (lead_rows[pk] for pk in listed_leads)
        ],
        card_total=len(cards),
        lead_total=len(leads),
        rules=len(rules),
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
        PendingEmail.objects.filter(pk=card.pk, status__in=CardStatus.OPEN).update(compliance=snapshot, compliance_passed=result.passed)
        changed += 1
    return changed


def rules_changed(rules: Sequence[RuleValues]) -> int:
    """After rules are stored or removed: refresh the open cards they hit, and those that failed (a rule gone may free them).

    Registered with `compliance.services` as the one hook every rule write runs.
    """
    hit = _hit_ids(open_cards().order_by(), list(rules), lead_prefix="lead__", key="created_at")
    if len(hit) > NAMED_CARDS:
        return refresh_open_cards()
    return refresh_open_cards(Q(pk__in=list(hit)) | Q(compliance_passed=False))
