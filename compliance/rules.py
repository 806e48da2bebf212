"""Who the exclusion rules hit, as queryset filters over leads.

The compliance checks ask the same question of one loaded card (see
`compliance.checks.check_not_do_not_contact` and
`check_domain_not_excluded`); these filters ask it of a whole queryset in SQL,
so a list page, a command or a claim never loads every row to find out. Both
read the rules as stored now, so a rule added a minute ago reaches every open
card at once.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Concat
from django.db.models.lookups import EndsWith, Exact

from compliance.models import DoNotContact, ExcludedDomain


def do_not_contact_q(lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead's address is on the do-not-contact list."""
    return Q(Exists(DoNotContact.objects.filter(email=OuterRef(f"{lead_prefix}email"))))


def excluded_domain_q(lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead's company domain or address domain is excluded, or a subdomain of one."""
    company = OuterRef(f"{lead_prefix}domain")
    email = OuterRef(f"{lead_prefix}email")
    covering = ExcludedDomain.objects.filter(
        Exact(company, F("domain"))
        | EndsWith(company, Concat(Value("."), F("domain")))
        | EndsWith(email, Concat(Value("@"), F("domain")))
        | EndsWith(email, Concat(Value("."), F("domain")))
    )
    return Q(Exists(covering))
