"""Looking a lead up by an address someone else spelled (a GHL webhook, a bounce) finds it canonically."""

from __future__ import annotations

import pytest

from outreach.models import Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "spelling", ["anna@bücher.example", "ANNA@BÜCHER.EXAMPLE", "anna@xn--bcher-kva.example", " anna@xn--bcher-kva.example. "]
)
def test_a_lead_is_found_by_any_spelling_of_its_address(spelling):
    lead = make_lead(email="Anna@Bücher.example")

    assert list(Lead.objects.with_email(spelling)) == [lead]


@pytest.mark.parametrize("spelling", ["anna@bü\u200bcher.example", "", "not an address"])
def test_an_address_the_canonical_form_refuses_finds_no_lead(spelling):
    make_lead(email="anna@bücher.example")

    assert list(Lead.objects.with_email(spelling)) == []


def test_the_lead_keeps_what_was_typed_beside_the_canonical_form():
    lead = make_lead(email="Anna@Bücher.example", domain="https://www.Bücher.example/")

    assert (lead.email, lead.email_as_entered) == ("anna@xn--bcher-kva.example", "Anna@Bücher.example")
    assert (lead.domain, lead.domain_as_entered) == ("xn--bcher-kva.example", "https://www.Bücher.example/")
    lead.email = "other@x.example"
    lead.save()
    assert (lead.email, lead.email_as_entered) == ("other@x.example", "other@x.example")
    lead.save()
    assert lead.email_as_entered == "other@x.example"


def test_the_admin_shows_both_spellings_where_they_differ(admin_client):
    make_lead(email="Anna@Bücher.example")
    make_lead(email="plain@x.example")

    page = admin_client.get("/admin/outreach/lead/").content.decode()

    assert "anna@xn--bcher-kva.example <span class=\"as-entered\">(entered as “Anna@Bücher.example”)</span>" in page
    assert "(entered as “plain@x.example”)" not in page
