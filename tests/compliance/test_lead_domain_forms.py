"""The lead domain forms the exclusion rules look up stay equal to the leads, whatever writes a lead.

The database keeps them (migration outreach 0019: generated columns and
triggers), so these tests write leads every way the product or a person can:
save, bulk_create, a queryset update, raw SQL, delete. A migration that drops
the triggers (on SQLite, one that remakes the lead table) fails here.
"""
from __future__ import annotations

import pytest
from django.db import connection

from compliance.models import ExcludedDomain
from compliance.rules import DOMAIN_FORM_FIELDS, PARENT_LEVELS, excluded_domain_q
from outreach.models import Lead, LeadDomainForm

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def parents(domain: str) -> list[str]:
    labels = domain.split(".")
    return [".".join(labels[n:]) for n in range(len(labels))]


def expected_forms(lead: Lead) -> set[str]:
    """What compliance.rules stores for a lead, from its values in Python: each domain and its parents, PARENT_LEVELS deep."""
    address_domain = lead.email.split("@", 1)[1]
    return {form for domain in (lead.domain, address_domain) for form in parents(domain)[:PARENT_LEVELS] if form}


def stored_forms(lead_id: int) -> set[str]:
    return set(LeadDomainForm.objects.filter(lead_id=lead_id).values_list("domain", flat=True))


def test_a_saved_lead_has_its_domains_and_their_parents():
    lead = Lead.objects.create(email="Ann@Mail.EU.Acme.co.uk", domain="shop.acme.example")
    assert stored_forms(lead.pk) == {
        "shop.acme.example", "acme.example", "example",
        "mail.eu.acme.co.uk", "eu.acme.co.uk", "acme.co.uk", "co.uk", "uk",
    }
    assert stored_forms(lead.pk) == expected_forms(Lead.objects.get(pk=lead.pk))


def test_the_generated_columns_are_the_forms_rules_read():
    lead = Lead.objects.create(email="bo@a.b.c.d.e.f.example")
    lead.refresh_from_db()
    assert lead.address_domain == "a.b.c.d.e.f.example"
    assert lead.address_domain_parent_4 == "e.f.example"
    assert lead.domain_parent_1 == "b.c.d.e.f.example"
    assert lead.domain_depth == 6
    assert {getattr(lead, name) for name in DOMAIN_FORM_FIELDS} - {""} == stored_forms(lead.pk)


def test_bulk_created_leads_get_their_forms():
    leads = Lead.objects.bulk_create([Lead(email=f"x{n}@team{n}.corp.example", domain=f"corp{n}.example") for n in range(3)])
    for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads]):
        assert stored_forms(lead.pk) == expected_forms(lead)


def test_changing_the_address_or_domain_replaces_the_forms_by_any_path():
    lead = Lead.objects.create(email="cy@old.example")
    lead.email, lead.domain = "cy@new.example", "brand.example"
    lead.save()
    assert stored_forms(lead.pk) == {"new.example", "brand.example", "example"}

    Lead.objects.filter(pk=lead.pk).update(domain="other.example")
    assert stored_forms(lead.pk) == {"new.example", "other.example", "example"}

    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET email = %s WHERE id = %s", ["cy@raw.example.org", lead.pk])
    assert stored_forms(lead.pk) == {"raw.example.org", "example.org", "org", "other.example", "example"}


def test_an_unrelated_change_leaves_the_forms_alone():
    lead = Lead.objects.create(email="di@keep.example")
    before = set(LeadDomainForm.objects.filter(lead_id=lead.pk).values_list("pk", flat=True))
    Lead.objects.filter(pk=lead.pk).update(first_name="Di")
    assert set(LeadDomainForm.objects.filter(lead_id=lead.pk).values_list("pk", flat=True)) == before


def test_a_deleted_lead_leaves_no_forms():
    lead = Lead.objects.create(email="ed@gone.example")
    lead_id = lead.pk
    lead.delete()
    assert not LeadDomainForm.objects.filter(lead_id=lead_id).exists()


def test_a_rule_hits_a_lead_written_by_raw_sql():
    ExcludedDomain.objects.create(domain="acme.example")
    table = Lead._meta.db_table
    columns = "email, email_as_entered, first_name, last_name, company, title, domain, domain_as_entered, tier, source, ghl_contact_id, do_not_contact, do_not_contact_reason, created_at, updated_at"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES (%s, '', '', '', '', '', %s, '', 'tier_1', '', '', %s, '', %s, %s)",
            ["fi@mail.acme.example", "mail.acme.example", False, "2026-01-01", "2026-01-01"],
        )
    assert list(Lead.objects.filter(excluded_domain_q("")).values_list("email", flat=True)) == ["fi@mail.acme.example"]
