"""Run the compliance checks for a card and keep the snapshot on it."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from compliance.checks import EmailFacts, Finding, run_all
from compliance.models import DoNotContact, ExcludedDomain
from outreach.models import PendingEmail


@dataclass
class ComplianceResult:
    findings: list[Finding]

    @property
    def passed(self) -> bool:
        return all(finding.passed for finding in self.findings)

    @property
    def failures(self) -> list[str]:
        return [f"{finding.name}: {finding.reason}" for finding in self.findings if not finding.passed]

    def snapshot(self) -> dict:
        return {
            "passed": self.passed,
            "checked_at": timezone.now().isoformat(),
            "findings": [finding.as_dict() for finding in self.findings],
        }


def excluded_domain_for(domain: str) -> str:
    """Return the excluded domain that covers `domain` (itself or a parent), or ''."""
    domain = (domain or "").lower()
    parts = domain.split(".")
    candidates = {".".join(parts[i:]) for i in range(len(parts) - 1)}
    match = ExcludedDomain.objects.filter(domain__in=candidates).values_list("domain", flat=True).first()
    return match or ""


def facts_for(card: PendingEmail) -> EmailFacts:
    lead = card.lead
    suppression = lead.suppression_reason()
    if not suppression and DoNotContact.objects.filter(email=lead.email).exists():
        suppression = "on the do-not-contact list"
    return EmailFacts(
        subject=card.subject,
        body=card.body,
        footer=card.footer,
        suppression_reason=suppression,
        excluded_domain=excluded_domain_for(lead.domain),
        opt_out_line=settings.OPT_OUT_LINE,
        postal_address=settings.SENDER_POSTAL_ADDRESS,
    )


def evaluate(card: PendingEmail) -> ComplianceResult:
    """Run every check on the card as it is now (lead re-read, suppression included)."""
    return ComplianceResult(run_all(facts_for(card)))


def record(card: PendingEmail) -> ComplianceResult:
    """Evaluate and store the snapshot on the card (not its status)."""
    result = evaluate(card)
    card.compliance = result.snapshot()
    card.compliance_passed = result.passed
    PendingEmail.objects.filter(pk=card.pk).update(compliance=card.compliance, compliance_passed=card.compliance_passed)
    return result
