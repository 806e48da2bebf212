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

from django.apps import apps
from django.db.models import CharField, Exists, F, Field, Func, IntegerField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat, Greatest, Length, Replace, StrIndex, Substr
from django.db.models.lookups import EndsWith, Exact, In

from compliance.identity import mailbox_key
from compliance.models import DoNotContact, ExcludedDomain, IdentityCollision


# How many levels of a domain are looked up in the rule tables by exact value:
# the domain itself and its parents, e.g. "mail.eu.acme.co.uk", "eu.acme.co.uk",
# "acme.co.uk", "co.uk" and "uk". Each lead stores these forms of its company
# domain and of its address's domain (`lead_domain_forms`), one row each in
# outreach's LeadDomainForm, so the leads a rule hits are an index look-up of
# the rule's domain. A domain nested deeper than this is also tested by the
# general suffix match, so every depth is covered, only the rare deep one at
# the price of a scan of the rule table.
PARENT_LEVELS = 5


class ParentDomain(Func):
    """The domain `levels` labels up from an expression's domain ("a.b.c", 1 -> "b.c"), or '' when it has no such parent.

    Written out as SQL from the source compiled once: built from Django's
    Substr, StrIndex and Case, each level would compile the levels below again.
    Only deterministic functions, so a database can store it as a generated
    column. '' rather than NULL: a form that is '' is not stored as a row, and
    no rule has the domain ''.
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
        return f"CASE WHEN {dots} >= {int(self.levels)} THEN {sql} ELSE '' END", (*params, *params, *sql_params)

    def as_sql(self, compiler, connection, **extra_context):
        return self._parent_sql(compiler, lambda sql: f"SUBSTR({sql}, INSTR({sql}, '.') + 1)")

    def as_postgresql(self, compiler, connection, **extra_context):
        return self._parent_sql(compiler, lambda sql: f"SUBSTRING({sql} FROM STRPOS({sql}, '.') + 1)")


def address_domain(email) -> Substr:
    """The domain of an address expression: what follows its '@'."""
    return Substr(email, StrIndex(email, Value("@")) + 1)


def _dots(text) -> Length:
    return Length(text) - Length(Replace(text, Value("."), Value("")))


def lead_domain_forms() -> dict[str, tuple[object, Field]]:
    """The lead's stored domain forms beside `domain`: {field name: (expression over the lead's columns, field)}.

    `outreach.models.Lead` stores each as a generated column, so the database
    computes it on every write, whatever the path (save, bulk_create, update,
    raw SQL), and the forms can never disagree with the address and domain.
    `domain_depth` is the dots of the deeper of the two domains: a lead deeper
    than PARENT_LEVELS is also matched by suffix.
    """
    company, email = F("domain"), F("email")
    form = CharField(max_length=253)
    forms: dict[str, tuple[object, Field]] = {}
    for levels in range(1, PARENT_LEVELS):
        forms[f"domain_parent_{levels}"] = ParentDomain(company, levels=levels), form
    forms["address_domain"] = address_domain(email), form
    for levels in range(1, PARENT_LEVELS):
        forms[f"address_domain_parent_{levels}"] = ParentDomain(address_domain(email), levels=levels), form
    forms["domain_depth"] = Greatest(_dots(company), _dots(address_domain(email))), IntegerField()
    return forms


# The columns of a lead that LeadDomainForm copies (the triggers of migration outreach 0019).
DOMAIN_FORM_FIELDS = ("domain", *(name for name in lead_domain_forms() if name != "domain_depth"))


def _among(expression, values: QuerySet) -> Q:
    """`expression IN (values)`: an uncorrelated look-up, read once per query.

    `values` is a one-column queryset that must hold no NULL: with one, a miss
    would be unknown rather than false, and a negated filter (the eligible
    slice) would drop the row.
    """
    return Q(In(expression, values.order_by()))


def _covering_rules(rules: QuerySet, lead_prefix: str) -> Q:
    """Rows whose lead's company domain or address domain is a rule's `domain`, or a subdomain of it.

    The leads a rule hits are found from the rule's side: each rule domain is
    one look-up in the lead domain forms' index, computed once per query, so
    a queue of thousands of cards costs one probe of that small set per card.
    The suffix match (the definition itself) runs, correlated, only for a lead
    nested deeper than PARENT_LEVELS, whose deeper parents are not stored.
    """
    forms = apps.get_model("outreach", "LeadDomainForm").objects.all()
    hit_leads = forms.filter(_among(F("domain"), rules.exclude(domain="").values("domain"))).values("lead_id")
    company, email = OuterRef(f"{lead_prefix}domain"), OuterRef(f"{lead_prefix}email")
    suffix = Q(
        Exact(company, F("domain"))
        | EndsWith(company, Concat(Value("."), F("domain")))
        | EndsWith(email, Concat(Value("@"), F("domain")))
        | EndsWith(email, Concat(Value("."), F("domain")))
    )
    deep = Q(**{f"{lead_prefix}domain_depth__gte": PARENT_LEVELS})
    return _among(F(f"{lead_prefix}pk"), hit_leads) | (deep & Q(Exists(rules.filter(suffix))))


def do_not_contact_q(lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead's address is on the do-not-contact list, or at a domain listed whole."""
    # Whole-domain entries are those with a domain and address entries those with an
    # address (a check constraint keeps the two kinds apart).
    # Address entries match by mailbox key: jdoe+promo@, and j.doe@googlemail.com for jdoe@gmail.com, are the entry.
    addresses = DoNotContact.objects.filter(email_key__isnull=False).values("email_key")
    return _among(F(f"{lead_prefix}email_key"), addresses) | _covering_rules(DoNotContact.objects.exclude(domain=""), lead_prefix)


def excluded_domain_q(lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead's company domain or address domain is excluded, or a subdomain of one."""
    return _covering_rules(ExcludedDomain.objects.all(), lead_prefix)


def unresolved_collision_q(lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead is named by an identity collision no person has resolved yet."""
    lead = F(f"{lead_prefix}pk")
    open_collisions = IdentityCollision.objects.filter(resolved_at__isnull=True)
    others = open_collisions.filter(other_lead_id__isnull=False)
    return _among(lead, open_collisions.values("lead_id")) | _among(lead, others.values("other_lead_id"))


def rule_hits_q(*, email: str | None, domain: str, lead_prefix: str = "lead__") -> Q:
    """Return a filter for rows whose lead one rule would hit, saved or not: an address, or a domain and its subdomains.

    The same coverage as the stored rules above (`_covering_rules`), for a rule
    given by its canonical values, so a form can show what it will hit before
    the rule is saved.
    """
    if email:
        return Q(**{f"{lead_prefix}email_key": mailbox_key(email)})
    company, address = F(f"{lead_prefix}domain"), F(f"{lead_prefix}email")
    return Q(
        Exact(company, Value(domain))
        | EndsWith(company, Value(f".{domain}"))
        | EndsWith(address, Value(f"@{domain}"))
        | EndsWith(address, Value(f".{domain}"))
    )
