"""Leads CSV import (preview, per-row errors, confirm) and export (formula cells neutralised)."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from outreach.models import Lead
from outreach.leads.resources import LeadResource
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

CSV_TEXT = """email,first_name,last_name,company,title,tier,source
good1@ok.example,Ann,Lee,OK Co,VP Marketing,tier_1,wpromote
Good2@OK.example,Bob,Ray,OK Co,CMO,Tier 2,wpromote
not-an-email,Cy,Doe,X Co,,tier_1,wpromote
bad@x.example,Di,Lo,X Co,,tier_9,wpromote
EXISTING@acme.example,Ed,Re,X Co,,tier_1,wpromote
good1@ok.example,Ann,Again,OK Co,,tier_1,wpromote
formula@x.example,"=HYPERLINK(""http://evil.example"",""x"")",Fo,X Co,,tier_1,wpromote
"""


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode()))


def test_it_previews_reports_every_bad_row_then_imports_only_the_good_ones(client, hos):
    existing = make_lead(email="existing@acme.example", first_name="Original")
    client.force_login(hos)
    upload = SimpleUploadedFile("leads.csv", CSV_TEXT.encode(), content_type="text/csv")

    preview = client.post(reverse("admin:outreach_lead_import"), {"import_file": upload, "format": "0"})

    assert preview.status_code == 200
    assert Lead.objects.count() == 1, "the preview must not write anything"
    errors = {
        int(number): reasons
        for number, reasons in re.findall(r"<tr>\s*<td>(\d+)</td>\s*<td class=\"errors\">(.*?)</td>", preview.content.decode(), re.S)
    }
    assert sorted(errors) == [3, 4, 5, 6, 7]
    assert "is not an email address" in errors[3]
    assert "Unknown tier “tier_9”" in errors[4]
    assert "a lead with existing@acme.example already exists" in errors[5]
    assert "Duplicate of row 1 in this file" in errors[6]
    assert "looks like a spreadsheet formula" in errors[7]
    assert "5 rows have errors and will not be imported" in text_of(preview)
    confirm_form = preview.context["confirm_form"]

    done = client.post(reverse("admin:outreach_lead_process_import"), {**confirm_form.initial, "confirm": "1"}, follow=True)

    assert "Import finished: 2 new leads written; 5 row(s) with errors were not imported." in text_of(done)
    assert set(Lead.objects.values_list("email", "tier")) == {
        ("existing@acme.example", "tier_1"),
        ("good1@ok.example", "tier_1"),
        ("good2@ok.example", "tier_2"),
    }
    existing.refresh_from_db()
    assert existing.first_name == "Original"


def test_a_file_with_only_bad_rows_offers_no_confirmation(client, hos):
    client.force_login(hos)
    upload = SimpleUploadedFile("leads.csv", b"email,tier\nnope,tier_1\n", content_type="text/csv")
    preview = client.post(reverse("admin:outreach_lead_import"), {"import_file": upload, "format": "0"})
    assert "confirm_form" not in preview.context
    assert "is not an email address" in preview.content.decode()


def test_import_needs_the_add_permission(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("admin:outreach_lead_import")).status_code == 403


@pytest.mark.parametrize("cell", ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "=HYPERLINK(\"http://evil\")"])
def test_export_neutralises_formula_cells(cell):
    make_lead(email="f@x.example", company=cell, first_name="Plain")
    exported = LeadResource().export(Lead.objects.all()).csv
    row = exported.splitlines()[1]
    assert f"'{cell[:5]}" in row.replace('""', '"')
    assert ",Plain," in row


def test_the_admin_export_is_neutralised(client, hos):
    make_lead(email="g@x.example", company="=cmd|' /C calc'!A0")
    client.force_login(hos)
    response = client.post(
        reverse("admin:outreach_lead_export"),
        {"format": "0", **{f"leadresource_{name}": "on" for name in ("email", "company", "tier")}},
    )
    assert response.status_code == 200, response.content[:500]
    body = response.content.decode()
    assert "'=cmd" in body and ",=cmd" not in body


def test_the_preview_shows_the_canonical_address_beside_what_the_file_says(client, hos):
    client.force_login(hos)
    upload = SimpleUploadedFile("leads.csv", "email,tier\nAnna@Bücher.example,tier_1\n".encode(), content_type="text/csv")

    preview = client.post(reverse("admin:outreach_lead_import"), {"import_file": upload, "format": "0"})

    row = re.search(r'<tr class="new">(.*?)</tr>', preview.content.decode(), re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[1:3] == ["anna@xn--bcher-kva.example", "Anna@Bücher.example"]


def test_contact_fields_with_line_breaks_are_refused_per_row(client, hos):
    client.force_login(hos)
    upload = SimpleUploadedFile(
        "leads.csv", b'email,first_name,company,title,tier\na@x.example,"Ann\r\nBcc: x",Acme,CMO,tier_1\nb@x.example,Bo,"Ac\x0bme",CMO,tier_1\n',
        content_type="text/csv",
    )

    preview = client.post(reverse("admin:outreach_lead_import"), {"import_file": upload, "format": "0"})

    result = preview.context["result"]
    assert {row.number: sorted(row.error_dict) for row in result.invalid_rows} == {1: ["first_name"], 2: ["company"]}
    assert "control character U+000D at position 4" in result.invalid_rows[0].error_dict["first_name"][0]
    assert not Lead.objects.exists()
