"""Exclusion rules in the admin: CSV import with a preview and an error per bad row."""

from __future__ import annotations

import re

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile

from compliance.admin import DoNotContactResource, ExcludedDomainResource
from compliance.models import DoNotContact, ExcludedDomain, Suppression
from tests.compliance.rule_admin import add_rule
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def csv(text: str) -> tablib.Dataset:
    return tablib.Dataset().load(text, format="csv")


def test_it_imports_domains_normalised_and_updates_on_reimport():
    ExcludedDomain.objects.create(domain="old.example", reason="was")

    result = ExcludedDomainResource().import_data(
        csv("domain,reason\n@Customer.COM,customer\nhttps://www.partner.example/,partner\nold.example,renewed\n"),
        dry_run=False,
    )

    assert not result.has_errors() and not result.has_validation_errors()
    assert dict(ExcludedDomain.objects.values_list("domain", "reason")) == {
        "customer.com": "customer", "partner.example": "partner", "old.example": "renewed",
    }


def test_it_reports_each_bad_row_and_writes_nothing():
    result = ExcludedDomainResource().import_data(
        csv("domain,reason\ngood.example,ok\nnot a domain,x\n,empty\n"), dry_run=False, rollback_on_validation_errors=True
    )

    assert result.has_validation_errors()
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(invalid) == {2, 3}
    assert "'not a domain' has a space in its domain name" in invalid[2]["domain"][0]
    assert not ExcludedDomain.objects.exists()


def test_it_imports_the_do_not_contact_list_and_rejects_bad_addresses():
    good = DoNotContactResource().import_data(csv("email,reason\n Ana@Acme.Example ,asked\n"), dry_run=False)
    bad = DoNotContactResource().import_data(
        csv("email,reason\nnot-an-email,x\n"), dry_run=False, rollback_on_validation_errors=True
    )

    assert list(DoNotContact.objects.values_list("email", flat=True)) == ["ana@acme.example"]
    assert "'not-an-email' is not an email address" in bad.invalid_rows[0].error_dict["email"][0]
    assert not good.has_validation_errors()


def test_the_admin_import_previews_errors_per_row(admin_client):
    upload = SimpleUploadedFile("domains.csv", b"domain,reason\ncustomer.example,c\nbad domain!,x\n", content_type="text/csv")

    response = admin_client.post("/admin/compliance/excludeddomain/import/", {"resource": "0", "import_file": upload, "format": "0"})

    assert response.status_code == 200
    content = response.content.decode()
    # One validation error, on the second data row, naming the bad value; no confirm button.
    rows = re.findall(r'<tr>\s*<td>(\d+)</td>\s*<td class="errors">(.*?)</td>', content, re.S)
    assert [number for number, _ in rows] == ["2"]
    assert "&#x27;bad domain!&#x27; has a space in its domain name" in rows[0][1]
    assert 'name="import_file_name"' not in content
    assert not ExcludedDomain.objects.exists()


def test_only_people_who_may_add_rules_may_import(client, hos, operator):
    client.force_login(hos)
    assert client.get("/admin/compliance/excludeddomain/import/").status_code == 403
    client.force_login(operator)
    assert client.get("/admin/compliance/excludeddomain/import/").status_code == 200


def test_the_suppression_history_is_read_only(admin_client):
    Suppression.objects.create(lead_id=1, email="a@b.example", kind="unsubscribed", source="unsubscribe_page")

    assert admin_client.get("/admin/compliance/suppression/").status_code == 200
    assert admin_client.get("/admin/compliance/suppression/add/").status_code == 403


def test_an_operator_adds_a_whole_domain_or_an_address_by_hand(client, operator):
    client.force_login(operator)

    add_rule(client, "/admin/compliance/donotcontact/add/", {"entry": "*@Competitor.EXAMPLE", "reason": "competitor"})
    add_rule(client, "/admin/compliance/donotcontact/add/", {"entry": "Ana@Bücher.example", "reason": "asked"})
    refused = client.post("/admin/compliance/donotcontact/add/", {"entry": "ana@bü\u200bcher.example", "reason": "x"})

    assert set(DoNotContact.objects.values_list("email", "domain", "as_entered")) == {
        ("ana@xn--bcher-kva.example", "", "Ana@Bücher.example"),
        (None, "competitor.example", "*@Competitor.EXAMPLE"),
    }
    assert "U+200B (ZERO WIDTH SPACE)" in refused.content.decode()
    listing = client.get("/admin/compliance/donotcontact/").content.decode()
    assert "*@competitor.example" in listing and "(entered as “Ana@Bücher.example”)" in listing


def test_an_entry_already_on_the_list_in_another_spelling_is_refused_by_hand(client, operator):
    DoNotContact.objects.create(email="ana@xn--bcher-kva.example")
    client.force_login(operator)

    again = client.post("/admin/compliance/donotcontact/add/", {"entry": "ANA@BÜCHER.EXAMPLE", "reason": "again"})

    assert "ana@xn--bcher-kva.example is already on the do-not-contact list." in again.content.decode()
    assert DoNotContact.objects.count() == 1
