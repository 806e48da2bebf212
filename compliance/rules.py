"""Who the exclusion rules hit, as queryset filters over leads.

The compliance checks ask the same question of one loaded card (see
`compliance.checks.check_not_do_not_contact`, `check_domain_not_excluded` and
`check_no_identity_collision`); these filters ask it of a whole queryset in
SQL, so a list page, a command or a claim never loads every row to find out.
Both read the rules as stored now, so a rule added a minute ago reaches every
open card at once.

Every comparison is between canonical forms (compliance.identity): a lead's
`email` and `domain`, a do-not-contact entry and an excluded domain are all
stored canonical, so plain equality and suffix tests are exact.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Concat
from django.db.models.lookups import EndsWith, Exact

from compliance.models import DoNotContact, ExcludedDomain, IdentityCollision


def _covered_by(lead_prefix: str, rule_domain: str = "domain") -> Q:
    """Rows of a rule table whose `rule_domain` is the lead's company domain or address domain, or a parent of either."""
    company = OuterRef(f"{lead_prefix}domain")
    email = OuterRef(f"{lead_prefix}email")
    return Q(
        Exact(company, F(rule_domain))
        | EndsWith(company, Concat(Value("."), F(rule_domain)))
        | EndsWith(email, Concat(Value("@"), F(rule_domain)))
        | EndsWith(email, Concat(Value("."), F(rule_domain)))
    )


def do_not_contact_q(lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead's address is on the do-not-contact list, or at a domain listed whole."""
    address = DoNotContact.objects.filter(email=OuterRef(f"{lead_prefix}email"))
    whole_domain = DoNotContact.objects.filter(email__isnull=True).filter(_covered_by(lead_prefix))
    return Q(Exists(address)) | Q(Exists(whole_domain))


def excluded_domain_q(lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead's company domain or address domain is excluded, or a subdomain of one."""
    return Q(Exists(ExcludedDomain.objects.filter(_covered_by(lead_prefix))))


def unresolved_collision_q(lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead is named by an identity collision no person has resolved yet."""
    lead = OuterRef(f"{lead_prefix}pk")
    open_collisions = IdentityCollision.objects.filter(resolved_at__isnull=True).filter(Q(lead_id=lead) | Q(other_lead_id=lead))
    return Q(Exists(open_collisions))


def rule_hits_q(*, email: str | None, domain: str, lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead one rule would hit, saved or not: an address, or a domain and its subdomains.

    The same coverage as the stored rules above (`_covered_by`), for a rule
    given by its canonical values, so a form can show what it will hit before
    the rule is saved.
    """
    if email:
        return Q(**{f"{lead_prefix}email": email})
    company, address = F(f"{lead_prefix}domain"), F(f"{lead_prefix}email")
    return Q(
        Exact(company, Value(domain))
        | EndsWith(company, Value(f".{domain}"))
        | EndsWith(address, Value(f"@{domain}"))
        | EndsWith(address, Value(f".{domain}"))
    )
