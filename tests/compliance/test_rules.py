"""The exclusion rules as queryset filters hit exactly the leads the per-card checks hit."""
from __future__ import annotations

import pytest

from compliance.checks import covering_domain
from compliance.models import DoNotContact, ExcludedDomain
from compliance.rules import PARENT_LEVELS, do_not_contact_q, excluded_domain_q
from outreach.models import Lead


@pytest.mark.django_db
def test_it_matches_leads_by_address_domain_and_subdomain():
    ExcludedDomain.objects.create(domain="excluded.com")
    DoNotContact.objects.create(email="no@x.com")
    Lead.objects.create(email="a@excluded.com")
    Lead.objects.create(email="b@mail.excluded.com")
    Lead.objects.create(email="c@notexcluded.com")
    Lead.objects.create(email="d@gmail.com", domain="sub.excluded.com")
    Lead.objects.create(email="no@x.com")
    got = set(Lead.objects.filter(excluded_domain_q("")).values_list("email", flat=True))
    assert got == {"a@excluded.com", "b@mail.excluded.com", "d@gmail.com"}
    assert list(Lead.objects.filter(do_not_contact_q("")).values_list("email", flat=True)) == ["no@x.com"]


# Leads at every nesting depth around compliance.rules.PARENT_LEVELS, in the company
# domain and in the address, with near misses: the SQL filters must hit exactly the
# leads the per-card check (covering_domain) hits, at every depth.
RULE_DOMAINS = ["acme.example", "co.uk"]


def _depth_leads() -> list[Lead]:
    leads = []
    for depth in range(0, PARENT_LEVELS + 4):
        sub = "".join(f"l{n}." for n in range(depth))
        leads.append(Lead(email=f"p{depth}@{sub}acme.example"))
        leads.append(Lead(email=f"c{depth}@gmail.com", domain=f"{sub}acme.example"))
        leads.append(Lead(email=f"u{depth}@{sub}shop.co.uk"))
        leads.append(Lead(email=f"m{depth}@{sub}notacme.example"))
        leads.append(Lead(email=f"x{depth}@{sub}acme.example.evil"))
        leads.append(Lead(email=f"first.last{depth}@{sub}other.example", domain=f"{sub}acme.example.org"))
    return Lead.objects.bulk_create(leads)


def _expected(leads: list[Lead]) -> set[str]:
    return {lead.email for lead in leads if covering_domain([lead.domain, lead.email.split("@")[1]], set(RULE_DOMAINS))}


@pytest.mark.django_db
@pytest.mark.postgres
def test_domain_rules_hit_every_depth_exactly_as_the_per_card_check_does():
    leads = _depth_leads()
    for domain in RULE_DOMAINS:
        ExcludedDomain.objects.create(domain=domain)
    expected = _expected(leads)
    assert any(lead.email.startswith(f"p{PARENT_LEVELS + 3}@") for lead in leads if lead.email in expected), "deeper than the look-ups"
    assert set(Lead.objects.filter(excluded_domain_q("")).values_list("email", flat=True)) == expected


@pytest.mark.django_db
@pytest.mark.postgres
def test_whole_domain_do_not_contact_entries_hit_every_depth_exactly_as_the_per_card_check_does():
    leads = _depth_leads()
    for domain in RULE_DOMAINS:
        DoNotContact.objects.create(domain=domain)
    assert set(Lead.objects.filter(do_not_contact_q("")).values_list("email", flat=True)) == _expected(leads)
