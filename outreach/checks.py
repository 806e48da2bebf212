"""Run the compliance checks for a card and keep the snapshot on it.

`evaluate(card)` re-reads the lead and the campaign before judging, so a lead
suppressed after drafting fails at approval and just before sending.
`record(card)` also stores the snapshot on the card (never its status).

The pipeline judges thousands of fresh cards at once: `CheckContext.for_cards`
loads the exclusion rules, the open identity collisions and the
already-contacted cards for a whole batch in four queries, and
`evaluate(card, context=...)` then uses the lead, campaign and step already
attached to each card.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from compliance.checks import EmailFacts, Finding, run_all
from compliance.footer import footer_for_lead
from compliance.identity import email_domain_of
from compliance.models import DoNotContact, ExcludedDomain, IdentityCollision
from outreach.models import CadenceStep, Campaign, CardStatus, Lead, PendingEmail


@dataclass
class ComplianceResult:
    findings: list[Finding]

    @property
    def passed(self) -> bool:
        return all(finding.passed for finding in self.findings)

    @property
    def failures(self) -> list[str]:
        return [f"{finding.name}: {finding.reason}" for finding in self.findings if not finding.passed]

    @property
    def failed_ids(self) -> list[str]:
        return [finding.id for finding in self.findings if not finding.passed]

    def snapshot(self, checked_at: datetime | None = None) -> dict:
        return {
            "passed": self.passed,
            "checked_at": (checked_at or timezone.now()).isoformat(),
            "failed": self.failed_ids,
            "findings": [finding.as_dict() for finding in self.findings],
        }


def lead_domains(lead: Lead) -> tuple[str, ...]:
    """Return the domains that identify the lead's company: its domain field and its address's (both canonical)."""
    domains = [lead.domain] if lead.domain else []
    address_domain = email_domain_of(lead.email)
    if address_domain and address_domain not in domains:
        domains.append(address_domain)
    return tuple(domains)


def _parent_domains(domains: Iterable[str]) -> set[str]:
    candidates = set()
    for domain in domains:
        labels = domain.split(".")
        candidates.update(".".join(labels[start:]) for start in range(len(labels)))
    return candidates


@dataclass(frozen=True)
class CheckContext:
    """The exclusion rules and contact history the checks need, loaded once for many cards."""

    excluded_domains: Collection[str] = frozenset()
    # The matching keys (compliance.identity.mailbox_key) of the address entries.
    do_not_contact_emails: Collection[str] = frozenset()
    do_not_contact_domains: Collection[str] = frozenset()
    # lead_id -> what the lead's unresolved identity collisions say.
    collisions: dict[int, str] = field(default_factory=dict)
    # (lead_id, campaign_id, step_id) -> pks of cards in a CardStatus.CONTACTED state.
    contacted: dict[tuple[int, int, int], frozenset[int]] = field(default_factory=dict)

    @classmethod
    def for_cards(cls, cards: Sequence[PendingEmail], *, excluded_domains: Collection[str] | None = None) -> CheckContext:
        """Load the context for `cards` (whose leads are attached) in at most four queries.

        Pass `excluded_domains` to reuse a set already loaded for an earlier batch.
        """
        if excluded_domains is None:
            excluded_domains = load_excluded_domains()
        keys = {card.lead.email_key for card in cards if card.lead.email_key}
        lead_ids = {card.lead_id for card in cards if card.lead_id}
        listed = DoNotContact.objects.filter(Q(email_key__in=keys) | Q(email__isnull=True)).values_list("email_key", "domain")
        do_not_contact = {"emails": set(), "domains": set()}
        for email, domain in listed:
            do_not_contact["emails" if email else "domains"].add(email or domain)
        contacted: dict[tuple[int, int, int], set[int]] = {}
        rows = PendingEmail.objects.filter(lead_id__in=lead_ids, status__in=CardStatus.CONTACTED).values_list(
            "lead_id", "campaign_id", "step_id", "pk"
        )
        for lead_id, campaign_id, step_id, pk in rows:
            contacted.setdefault((lead_id, campaign_id, step_id), set()).add(pk)
        return cls(
            excluded_domains=excluded_domains,
            do_not_contact_emails=frozenset(do_not_contact["emails"]),
            do_not_contact_domains=frozenset(do_not_contact["domains"]),
            contacted={key: frozenset(pks) for key, pks in contacted.items()},
            collisions=open_collisions(lead_ids),
        )

    @classmethod
    def for_card(cls, card: PendingEmail, lead: Lead) -> CheckContext:
        """Load the context for one card with narrow queries (only the lead's candidate domains)."""
        candidates = _parent_domains(lead_domains(lead))
        excluded = frozenset(ExcludedDomain.objects.filter(domain__in=candidates).values_list("domain", flat=True))
        listed = DoNotContact.objects.filter(
            Q(email_key=lead.email_key, email_key__isnull=False) | Q(email__isnull=True, domain__in=candidates)
        ).values_list("email_key", "domain")
        listed_emails = frozenset(email for email, _ in listed if email)
        listed_domains = frozenset(domain for email, domain in listed if not email)
        contacted_pks = frozenset(
            PendingEmail.objects.filter(
                lead_id=card.lead_id, campaign_id=card.campaign_id, step_id=card.step_id, status__in=CardStatus.CONTACTED
            ).values_list("pk", flat=True)
        )
        return cls(
            excluded_domains=excluded,
            do_not_contact_emails=frozenset(listed_emails),
            do_not_contact_domains=listed_domains,
            contacted={(card.lead_id, card.campaign_id, card.step_id): contacted_pks},
            collisions=open_collisions([lead.pk]),
        )

    def already_contacted(self, card: PendingEmail) -> bool:
        pks = self.contacted.get((card.lead_id, card.campaign_id, card.step_id), frozenset())
        return any(pk != card.pk for pk in pks)


def open_collisions(lead_ids: Iterable[int]) -> dict[int, str]:
    """Return lead_id -> the detail of its unresolved identity collisions, for the leads among `lead_ids` that have one."""
    lead_ids = list(lead_ids)
    found: dict[int, list[str]] = {}
    rows = IdentityCollision.objects.filter(resolved_at__isnull=True).filter(
        Q(lead_id__in=lead_ids) | Q(other_lead_id__in=lead_ids)
    )
    wanted = set(lead_ids)
    for lead_id, other_lead_id, detail in rows.values_list("lead_id", "other_lead_id", "detail"):
        for named in {lead_id, other_lead_id} & wanted:
            found.setdefault(named, []).append(detail)
    return {lead_id: " ".join(details) for lead_id, details in found.items()}


def load_excluded_domains() -> frozenset[str]:
    return frozenset(ExcludedDomain.objects.values_list("domain", flat=True))


def build_facts(
    card: PendingEmail, *, lead: Lead, campaign: Campaign, step: CadenceStep, context: CheckContext
) -> EmailFacts:
    """Return the plain facts the checks judge, from a card, its lead, campaign and step."""
    return EmailFacts(
        subject=card.subject,
        body=card.body,
        footer=card.footer,
        expected_footer=footer_for_lead(lead.pk),
        opt_out_line=settings.OPT_OUT_LINE,
        postal_address=settings.SENDER_POSTAL_ADDRESS,
        step_number=step.number,
        lead_email=lead.email,
        lead_domains=lead_domains(lead),
        lead_tier=lead.tier,
        do_not_contact=lead.do_not_contact,
        do_not_contact_reason=lead.do_not_contact_reason,
        on_do_not_contact_list=lead.email_key in context.do_not_contact_emails,
        do_not_contact_domains=context.do_not_contact_domains,
        identity_collision=context.collisions.get(lead.pk, ""),
        unsubscribed=lead.unsubscribed_at is not None,
        bounced=lead.bounced_at is not None,
        replied=lead.replied_at is not None,
        excluded_domains=context.excluded_domains,
        already_contacted=context.already_contacted(card),
        card_classifier=card.classifier,
        card_campaign_ref=card.campaign_ref,
        campaign_ref=campaign.ref,
        campaign_classifier=campaign.classifier,
        campaign_tier=campaign.tier,
    )


def facts_for(card: PendingEmail) -> EmailFacts:
    """Return the facts for `card` with its lead, campaign and step re-read from the database."""
    lead = Lead.objects.get(pk=card.lead_id)
    campaign = Campaign.objects.get(pk=card.campaign_id)
    step = CadenceStep.objects.get(pk=card.step_id)
    return build_facts(card, lead=lead, campaign=campaign, step=step, context=CheckContext.for_card(card, lead))


def evaluate(card: PendingEmail, *, context: CheckContext | None = None) -> ComplianceResult:
    """Run every check on the card as it is now.

    Without `context` (approval, dispatch), the lead, campaign and step are
    re-read, so a suppression made since drafting is seen. With a batch
    `context` (the pipeline), the objects attached to the card are trusted.
    """
    if context is None:
        return ComplianceResult(run_all(facts_for(card)))
    facts = build_facts(card, lead=card.lead, campaign=card.campaign, step=card.step, context=context)
    return ComplianceResult(run_all(facts))


def record(card: PendingEmail) -> ComplianceResult:
    """Evaluate and store the snapshot on the card (not its status)."""
    result = evaluate(card)
    card.compliance = result.snapshot()
    card.compliance_passed = result.passed
    PendingEmail.objects.filter(pk=card.pk).update(compliance=card.compliance, compliance_passed=card.compliance_passed)
    return result
