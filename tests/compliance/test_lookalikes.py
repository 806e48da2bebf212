"""Look-alike domains (issue 21): warned on the lead in both forms, held back until a person confirms it."""

from __future__ import annotations

import pytest
import tablib
from django.urls import reverse

from compliance.models import ExcludedDomain
from outreach import eligibility
from outreach.leads.resources import LeadResource
from outreach.models import Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("address", ["ann@acme.example", "ann@straße.example", "ann@σίσυφος.example", "ann@xn--strae-oqa.example"])
def test_a_domain_in_one_script_that_reads_as_nothing_known_is_no_lookalike(address):
    lead = make_lead(email=address)
    assert lead.lookalike is None
    assert lead not in eligibility.held_leads()


def test_a_mixed_script_domain_is_warned_in_both_forms():
    lead = make_lead(email="ann@\u0430cme.example")

    assert lead.lookalike == "The domain \u0430cme.example (xn--cme-5cd.example) is a look-alike: “\u0430cme” mixes scripts (Cyrillic and Latin)."
    assert lead.email_shown == "ann@\u0430cme.example (xn--cme-5cd.example)"
    assert eligibility.with_lead_reason(Lead.objects.filter(pk=lead.pk)).values_list(eligibility.LEAD_REASON, flat=True).get() == "lookalike_domain"


def test_a_whole_script_domain_that_reads_as_another_leads_or_a_rules_domain_is_warned():
    first = make_lead(email="ann@ayc.example")
    ExcludedDomain.objects.create(domain="eoc.example")

    beside_lead = make_lead(email="bob@\u0430\u0443\u0441.example")
    beside_rule = make_lead(email="cy@\u0435\u043e\u0441.example")

    assert f"it reads as ayc.example, the domain of lead {first.pk}" in beside_lead.lookalike
    assert "it reads as eoc.example, an excluded domain" in beside_rule.lookalike
    assert "mixes scripts" not in beside_lead.lookalike


def test_an_imported_lead_at_a_lookalike_domain_is_warned():
    dataset = tablib.Dataset().load("email,first_name,tier,source\nann@\u0430cme.example,Ann,tier_1,csv\n", format="csv")

    assert not LeadResource().import_data(dataset, dry_run=False).has_validation_errors()

    assert "mixes scripts" in Lead.objects.get(source="csv").lookalike


def test_one_click_confirms_the_lead_and_records_who_and_when(client, operator):
    lead = make_lead(email="ann@\u0430cme.example")
    url = reverse("admin:outreach_lead_confirm_lookalike", args=[lead.pk])
    client.force_login(operator)

    assert client.get(url).status_code == 405
    response = client.post(url)

    assert response.status_code == 302 and response["Location"] == reverse("admin:outreach_lead_change", args=[lead.pk])
    lead.refresh_from_db()
    assert lead.lookalike_confirmed_by == operator and lead.lookalike_confirmed_at is not None
    assert lead not in eligibility.held_leads()
    page = client.get(reverse("admin:outreach_lead_change", args=[lead.pk])).content.decode()
    assert 'id="lookalike-confirmed"' in page and "Confirmed by operator" in page


def test_a_person_without_the_right_to_change_leads_cannot_confirm(client, outsider):
    lead = make_lead(email="ann@\u0430cme.example")
    client.force_login(outsider)

    client.post(reverse("admin:outreach_lead_confirm_lookalike", args=[lead.pk]))

    assert Lead.objects.get(pk=lead.pk).lookalike_confirmed_at is None


def test_a_new_lookalike_asks_for_a_new_confirmation(operator):
    lead = make_lead(email="ann@\u0430cme.example")
    assert lead.confirm_lookalike(by=operator)

    lead.email = "ann@\u0440aypal.example"
    lead.save()

    assert "\u0440aypal" in lead.lookalike and lead.lookalike_confirmed_at is None
    assert lead in eligibility.held_leads()
