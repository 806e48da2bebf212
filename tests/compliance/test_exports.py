"""Every export neutralises cells a spreadsheet would run as formulas, for every resource."""

from __future__ import annotations

import csv
import importlib
import io

import pytest
from import_export.resources import ModelResource

from compliance.admin import DoNotContactResource, ExcludedDomainResource
from compliance.models import DoNotContact, ExcludedDomain
from compliance.spreadsheet import FORMULA_PREFIXES, SafeResource
from outreach.models import CardTransition, EmailEvent, Lead, PendingEmail
from outreach.leads.resources import CardResource, CardTransitionResource, EmailEventResource, LeadResource
from tests.factories import make_card, make_lead

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("caio", "compliance", "outreach", "ramp", "ghl")


def all_resources() -> set[type]:
    for module in ("compliance.admin", "outreach.leads.resources", "outreach.admin"):
        importlib.import_module(module)
    found, todo = set(), [ModelResource]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.split(".")[0] in PROJECT_APPS and sub is not SafeResource:
                found.add(sub)
    return found


def test_every_resource_of_the_project_neutralises_its_exports():
    resources = all_resources()

    assert {LeadResource, DoNotContactResource, ExcludedDomainResource, CardResource, EmailEventResource} <= resources
    assert [r.__name__ for r in resources if not issubclass(r, SafeResource)] == []


def exported_cells(resource, queryset) -> list[str]:
    rows = list(csv.reader(io.StringIO(resource().export(queryset).csv)))
    return [cell for row in rows[1:] for cell in row]


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_every_resource_escapes_each_formula_prefix(prefix):
    cell = f"{prefix}HYPERLINK(\"http://evil.example\")"
    lead = make_lead(company=cell)
    ExcludedDomain.objects.create(domain="customer.example", reason=cell)
    DoNotContact.objects.create(domain="competitor.example", reason=cell)
    card = make_card(lead=lead, subject=cell, body=cell)
    CardTransition.objects.create(card=card, from_status="pending", to_status="pending", actor_label=cell, reason=cell)

    for resource, queryset in [
        (LeadResource, Lead.objects.all()),
        (ExcludedDomainResource, ExcludedDomain.objects.all()),
        (DoNotContactResource, DoNotContact.objects.all()),
        (CardResource, PendingEmail.objects.all()),
        (CardTransitionResource, CardTransition.objects.all()),
    ]:
        cells = exported_cells(resource, queryset)
        assert f"'{cell}" in cells, resource.__name__
        assert cell not in cells, resource.__name__


@pytest.mark.parametrize("local", ["=cmd", "+1", "-2"])
def test_event_exports_escape_addresses_that_start_like_formulas(local):
    lead = make_lead(email=f"{local}@x.example")
    EmailEvent.objects.create(lead=lead, kind=EmailEvent.Kind.DELIVERED)

    cells = exported_cells(EmailEventResource, EmailEvent.objects.all())

    assert f"'{local}@x.example" in cells and f"{local}@x.example" not in cells


def test_the_admin_export_of_the_do_not_contact_list_is_neutralised(admin_client):
    DoNotContact.objects.create(email="ana@x.example", reason="@SUM(A1:A9)")
    DoNotContact.objects.create(domain="competitor.example", reason="+cmd")

    response = admin_client.post(
        "/admin/compliance/donotcontact/export/",
        {"format": "0", **{f"donotcontactresource_{name}": "on" for name in ("email", "reason")}},
    )

    assert response.status_code == 200, response.content[:500]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["email", "reason"]
    assert sorted(rows[1:]) == [["*@competitor.example", "'+cmd"], ["ana@x.example", "'@SUM(A1:A9)"]]


@pytest.mark.parametrize(
    "path, resource, cell_field",
    [
        ("/admin/outreach/pendingemail/export/", "cardresource", "subject"),
        ("/admin/outreach/cardtransition/export/", "cardtransitionresource", "reason"),
    ],
)
def test_the_admin_exports_cards_and_their_history_neutralised(admin_client, path, resource, cell_field):
    card = make_card(subject="=HYPERLINK(\"http://evil.example\")")
    CardTransition.objects.create(card=card, from_status="pending", to_status="pending", actor_label="x", reason="-2+3")

    response = admin_client.post(path, {"format": "0", f"{resource}_{cell_field}": "on"})

    assert response.status_code == 200, response.content[:500]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][0] in ("'=HYPERLINK(\"http://evil.example\")", "'-2+3")


def test_the_admin_exports_events_neutralised(admin_client):
    EmailEvent.objects.create(lead=make_lead(email="=cmd@x.example"), kind=EmailEvent.Kind.DELIVERED)

    response = admin_client.post("/admin/outreach/emailevent/export/", {"format": "0", "emaileventresource_lead_email": "on"})

    assert list(csv.reader(io.StringIO(response.content.decode()))) == [["lead_email"], ["'=cmd@x.example"]]
