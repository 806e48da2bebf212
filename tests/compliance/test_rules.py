"""The exclusion rules as queryset filters hit exactly the leads the per-card checks hit."""
from __future__ import annotations

import pytest
from compliance.models import DoNotContact, ExcludedDomain
from compliance.rules import do_not_contact_q, excluded_domain_q
from outreach.models import Lead

@pytest.mark.django_db
def test_it_matches_leads_by_address_domain_and_subdomain():
    ExcludedDomain.objects.create(domain="excluded.com")
    DoNotContact.objects.create(email="no@x.com")
    a = Lead.objects.create(email="a@excluded.com")
    b = Lead.objects.create(email="b@mail.excluded.com")
    c = Lead.objects.create(email="c@notexcluded.com")
    d = Lead.objects.create(email="d@gmail.com", domain="sub.excluded.com")
    e = Lead.objects.create(email="no@x.com")
    got = set(Lead.objects.filter(excluded_domain_q("")).values_list("email", flat=True))
    assert got == {"a@excluded.com", "b@mail.excluded.com", "d@gmail.com"}
    assert list(Lead.objects.filter(do_not_contact_q("")).values_list("email", flat=True)) == ["no@x.com"]
