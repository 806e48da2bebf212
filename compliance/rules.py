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

from django.db.models import CharField, Exists, F, Func, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat, Length, Replace, StrIndex, Substr
from django.db.models.lookups import EndsWith, Exact, GreaterThanOrEqual

from compliance.models import DoNotContact, ExcludedDomain, IdentityCollision


# How many levels of a domain are looked up in the rule tables by exact value:
# the domain itself and its parents, e.g. "mail.eu.acme.co.uk", "eu.acme.co.uk",
# "acme.co.uk", "co.uk" and "uk". Each is one index probe; a domain nested
# deeper than this is also tested by the general suffix match, so every depth
# is covered, only the rare deep one at the price of a scan of the rule table.
PARENT_LEVELS = 5


class ParentDomain(Func):
    """The domain `levels` labels up from an expression's domain ("a.b.c", 1 -> "b.c"), or NULL when it has no such parent.

    Written out as SQL from the source compiled once: built from Django's
    Substr, StrIndex and Case, each level would compile the levels below again,
    and a few levels would cost more to compile than to run. The parent is
    computed only when the domain has that many dots: most have one or two,
    and the deeper levels cost the most. NULL matches no rule.
    """

    output_field = CharField()

    def __init__(self, expression, *, levels: int) -> None:
        super().__init__(expression)
        self.levels = levels

    def _parent_sql(self, compiler, after_first_dot) -> tuple[str, tuple]:
        source, params = compiler.compile(self.source_expressions[0])
        sql, sql_params = source, tuple(params)
        for _ in range(self.levels):
            sql, sql_params = after_first_dot(sql), (*sql_params, *sql_params)
        dots = f"LENGTH({source}) - LENGTH(REPLACE({source}, '.', ''))"
        return f"CASE WHEN {dots} >= {int(self.levels)} THEN {sql} END", (*params, *params, *sql_params)

    def as_sql(self, compiler, connection, **extra_context):
        return self._parent_sql(compiler, lambda sql: f"SUBSTR({sql}, INSTR({sql}, '.') + 1)")

    def as_postgresql(self, compiler, connection, **extra_context):
        return self._parent_sql(compiler, lambda sql: f"SUBSTRING({sql} FROM STRPOS({sql}, '.') + 1)")


def _with_parents(domain) -> list:
    """`domain` and the parents got by dropping one label at a time from the left, PARENT_LEVELS in all."""
    return [domain, *(ParentDomain(domain, levels=levels) for levels in range(1, PARENT_LEVELS))]


def _dots(text) -> Length:
    return Length(text) - Length(Replace(text, Value("."), Value("")))


def _covering_rules(rules: QuerySet, lead_prefix: str) -> Q:
    """Rows whose lead's company domain or address domain is a rule's `domain`, or a subdomain of it.

    The exact look-ups of each domain and its parents are what the database
    runs for almost every lead; the suffix match (the definition itself) runs
    only for a lead whose domains are nested deeper than PARENT_LEVELS.
    """
    company = OuterRef(f"{lead_prefix}domain")
    email = OuterRef(f"{lead_prefix}email")
    address_domain = Substr(email, StrIndex(email, Value("@")) + 1)
    forms = [*_with_parents(company), *_with_parents(address_domain)]
    exact = Q(domain__in=forms)
    suffix = Q(
        Exact(company, F("domain"))
        | EndsWith(company, Concat(Value("."), F("domain")))
        | EndsWith(email, Concat(Value("@"), F("domain")))
        | EndsWith(email, Concat(Value("."), F("domain")))
    )
    deep = Q(GreaterThanOrEqual(_dots(company), PARENT_LEVELS)) | Q(GreaterThanOrEqual(_dots(email), PARENT_LEVELS))
    return Q(Exists(rules.filter(exact))) | (deep & Q(Exists(rules.filter(suffix))))


def do_not_contact_q(lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead's address is on the do-not-contact list, or at a domain listed whole."""
    address = DoNotContact.objects.filter(email=OuterRef(f"{lead_prefix}email"))
    # Whole-domain entries are those with a domain (a check constraint keeps the two kinds
    # apart); asked that way the database probes the domain index for each of the lead's
    # domains instead of walking every whole-domain entry with the email index.
    return Q(Exists(address)) | _covering_rules(DoNotContact.objects.exclude(domain=""), lead_prefix)


def excluded_domain_q(lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead's company domain or address domain is excluded, or a subdomain of one."""
    return _covering_rules(ExcludedDomain.objects.all(), lead_prefix)


def unresolved_collision_q(lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead is named by an identity collision no person has resolved yet."""
    lead = OuterRef(f"{lead_prefix}pk")
    open_collisions = IdentityCollision.objects.filter(resolved_at__isnull=True).filter(Q(lead_id=lead) | Q(other_lead_id=lead))
    return Q(Exists(open_collisions))


def rule_hits_q(*, email: str | None, domain: str, lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead one rule would hit, saved or not: an address, or a domain and its subdomains.

    The same coverage as the stored rules above (`_covering_rules`), for a rule
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
