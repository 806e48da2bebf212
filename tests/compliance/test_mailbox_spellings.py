"""Issue 21's spellings through the CSV import and the admin forms (the lead's, the do-not-contact
list's and the excluded domains'): each is refused at entry with a reason, or matched exactly as its
plain spelling by the do-not-contact list, the excluded domains and the duplicate check; none reaches
a sendable card; a ß lead is never stored at the ss domain. The signed webhooks read the same table
in tests/webhooks/test_opt_outs_without_lead.py."""

from __future__ import annotations

import csv
import html
import re

import pytest
import tablib
from django.urls import reverse

from compliance.admin import DoNotContactResource, ExcludedDomainResource
from compliance.models import DoNotContact, ExcludedDomain
from outreach import eligibility
from outreach.drafting.pipeline import run_pipeline
from outreach.leads.resources import LeadResource
from outreach.models import Lead, PendingEmail
from tests.compliance.rule_admin import add_rule
from tests.factories import make_campaign, make_lead

pytestmark = pytest.mark.django_db


def import_leads(*addresses: str):
    rows = "".join(f"{address},Ann,tier_1,hostile\n" for address in addresses)
    return LeadResource().import_data(tablib.Dataset().load("email,first_name,tier,source\n" + rows, format="csv"), dry_run=False)


# spelling of a lead -> (the do-not-contact entry it must meet, or the refusal its row must carry)
LEAD_SPELLINGS = {
    '"""jdoe""@e2e-q.example"': ("jdoe@e2e-q.example", "Quoting the part before the @-sign is not allowed"),
    "\uff02jdoe\uff02@e2e-q.example": ("jdoe@e2e-q.example", "Quoting the part before the @-sign is not allowed"),
    "jdoe+promo@x.example": ("jdoe@x.example", None),
    "j.doe@gmail.com": ("jdoe@gmail.com", None),
    "jdoe@googlemail.com": ("jdoe@gmail.com", None),
    "J.Doe+news@googlemail.com": ("jdoe@gmail.com", None),
    "jdoe@xn--strae-oqa.example": ("jdoe@straße.example", None),
    "jdoe@straße.example": ("jdoe@xn--strae-oqa.example", None),
    "jdoe@σίσυφος.example": ("jdoe@xn--kxa6ajbbmh.example", None),
    # Mixed scripts: a Cyrillic а among Latin letters is its punycode, never the Latin acme.example.
    "jdoe@\u0430cme.example": ("jdoe@xn--cme-5cd.example", None),
    "jdoe@xn--cme-5cd.example": ("jdoe@\u0430cme.example", None),
}


@pytest.mark.parametrize("spelling", LEAD_SPELLINGS)
def test_a_lead_spelled_otherwise_meets_the_do_not_contact_entry_or_is_refused(spelling):
    entry, refusal = LEAD_SPELLINGS[spelling]
    campaign = make_campaign(ref="spellings")
    DoNotContact.objects.create(email=entry)

    result = import_leads(spelling)

    if refusal:
        assert refusal in " ".join(result.invalid_rows[0].error_dict["email"])
        assert not Lead.objects.filter(source="hostile").exists()
        return
    assert not result.has_validation_errors(), [row.error_dict for row in result.invalid_rows]
    report = run_pipeline(source="hostile", limit=10, campaign_ref=campaign.ref, apply=True)
    assert report.skipped["do_not_contact"] == 1
    assert not PendingEmail.objects.exists()


@pytest.mark.parametrize("stored, spelling", [("jdoe@gmail.com", "j.doe@googlemail.com"), ("jdoe@x.example", "jdoe+promo@x.example")])
def test_another_spelling_of_a_stored_mailbox_is_a_duplicate(stored, spelling):
    make_lead(email=stored, unsubscribed_at="2026-01-01T00:00:00Z")

    result = import_leads(spelling)

    assert f"Duplicate: a lead with {stored} already exists" in " ".join(result.invalid_rows[0].error_dict["email"])


def test_a_sharp_s_lead_is_stored_at_the_domain_typed_and_an_excluded_sharp_s_domain_holds_its_punycode():
    ExcludedDomain.objects.create(domain="straße-kunde.example")

    import_leads("ann@straße.example", "bob@xn--strae-kunde-y6a.example")

    assert Lead.objects.get(email__startswith="ann@").email == "ann@xn--strae-oqa.example"
    assert not Lead.objects.filter(email__contains="strasse").exists()
    assert ExcludedDomain.objects.get().domain == "xn--strae-kunde-y6a.example"
    campaign = make_campaign(ref="sharp-s")
    report = run_pipeline(source="hostile", limit=10, campaign_ref=campaign.ref, apply=True)
    assert report.skipped["excluded_domain"] == 1


@pytest.mark.parametrize(
    "typed, stored",
    [("jdoe\uff20gmail.com", ("jdoe@gmail.com", "")), ("*\uff20acme.example", (None, "acme.example"))],
)
def test_a_rule_typed_with_a_full_width_at_sign_keeps_its_kind(typed, stored):
    result = DoNotContactResource().import_data(tablib.Dataset().load(f"email\n{typed}\n", format="csv"), dry_run=False)

    assert not result.has_validation_errors()
    entry = DoNotContact.objects.get()
    assert (entry.email, entry.domain) == stored


@pytest.mark.parametrize("pasted, words", [("https://acme.example\\@other.example/", "backslash"), ("https://u@acme.example/", "user name")])
def test_a_pasted_url_with_a_backslash_or_userinfo_is_refused_as_an_excluded_domain(pasted, words):
    result = ExcludedDomainResource().import_data(tablib.Dataset().load(f'domain\n"{pasted}"\n', format="csv"), dry_run=False)

    assert words in " ".join(result.invalid_rows[0].error_dict["domain"])
    assert not ExcludedDomain.objects.exists()


# --- the same spellings typed in the admin forms, by a logged-in operator ---------------------


def cell(spelling: str) -> str:
    """The value of a spelling written as a CSV cell, as a person types it in a form."""
    (value,) = next(csv.reader([spelling]))
    return value


@pytest.mark.parametrize("how", ["add", "change"])
@pytest.mark.parametrize("spelling", LEAD_SPELLINGS)
def test_a_lead_typed_in_the_lead_admin_meets_the_do_not_contact_entry_or_is_refused(spelling, how, client, operator):
    entry, refusal = LEAD_SPELLINGS[spelling]
    campaign = make_campaign(ref="spellings")
    DoNotContact.objects.create(email=entry)
    client.force_login(operator)
    if how == "add":
        url = reverse("admin:outreach_lead_add")
    else:
        url = reverse("admin:outreach_lead_change", args=[make_lead(email="first@plain.example", source="hostile").pk])
    typed = cell(spelling)

    response = client.post(url, {
        "email": typed, "first_name": "Ann", "tier": "tier_1", "source": "hostile", "domain": "",
        "created_at_0": "2026-03-02", "created_at_1": "10:00:00",
    })

    if refusal:
        assert response.status_code == 200
        assert refusal in html.unescape(response.content.decode())
        assert not Lead.objects.filter(email__startswith="jdoe").exists()
        return
    assert response.status_code == 302, re.findall(r'class="errorlist[^>]*>(.*?)</ul>', html.unescape(response.content.decode()), re.S)
    lead = Lead.objects.get(source="hostile")
    assert lead.email_as_entered == typed and "strasse" not in lead.email and "σ" not in lead.email
    report = run_pipeline(source="hostile", limit=10, campaign_ref=campaign.ref, apply=True)
    assert (report.skipped, report.drafted) == ({"do_not_contact": 1}, [])
    assert not PendingEmail.objects.exists()


# typed do-not-contact entry -> (the lead it must hold, a lead it must leave alone, what the preview says it is
# stored as, or the refusal the form must name)
RULE_SPELLINGS = {
    '"jdoe"@e2e-q.example': (None, None, "Quoting the part before the @-sign is not allowed"),
    "\uff02jdoe\uff02@e2e-q.example": (None, None, "Quoting the part before the @-sign is not allowed"),
    "jdoe+promo@x.example": ("jdoe@x.example", "ann@x.example", "the address jdoe+promo@x.example, and every spelling of the mailbox jdoe@x.example"),
    "J.Doe+news@googlemail.com": ("jdoe@gmail.com", "ann@gmail.com", "every spelling of the mailbox jdoe@gmail.com"),
    # A full-width at sign keeps an address an address: it must not list everyone at gmail.com.
    "jdoe\uff20gmail.com": ("j.doe@gmail.com", "ann@gmail.com", "the address jdoe@gmail.com"),
    "*\uff20acme.example": ("ann@eu.acme.example", "ann@acme-other.example", "everyone at acme.example and its subdomains"),
    "jdoe@straße.example": ("jdoe@xn--strae-oqa.example", "jdoe@strasse.example", "the address jdoe@straße.example (xn--strae-oqa.example)"),
    "jdoe@xn--strae-oqa.example": ("jdoe@straße.example", "jdoe@strasse.example", "the address jdoe@straße.example (xn--strae-oqa.example)"),
    "jdoe@\u0430cme.example": ("jdoe@xn--cme-5cd.example", "jdoe@acme.example", "the address jdoe@\u0430cme.example (xn--cme-5cd.example)"),
}


@pytest.mark.parametrize("typed", RULE_SPELLINGS)
def test_a_do_not_contact_entry_typed_in_its_admin_form_is_stored_as_its_preview_says(typed, client, operator):
    held, spared, said = RULE_SPELLINGS[typed]
    leads = [make_lead(email=held, source="hostile"), make_lead(email=spared, source="hostile")] if held else []
    client.force_login(operator)
    url = reverse("admin:compliance_donotcontact_add")

    if held is None:
        response = client.post(url, {"entry": typed, "reason": "asked"})
        assert response.status_code == 200 and said in html.unescape(response.content.decode())
        assert not DoNotContact.objects.exists()
        return
    page = add_rule(client, url, {"entry": typed, "reason": "asked"})

    assert said in html.unescape(page)
    assert DoNotContact.objects.get().as_entered == typed
    assert list(eligibility.held_leads()) == leads[:1]


# typed excluded domain -> (the lead it must hold, a lead it must leave alone, what the preview says, or the refusal)
EXCLUDED_SPELLINGS = {
    "straße.example": ("ann@xn--strae-oqa.example", "ann@strasse.example", "the excluded domain straße.example (xn--strae-oqa.example)"),
    "xn--strae-oqa.example": ("ann@straße.example", "ann@strasse.example", "straße.example (xn--strae-oqa.example)"),
    "σίσυφος.example": ("ann@xn--kxa6ajbbmh.example", "ann@σίσυφοσ.example", "σίσυφος.example (xn--kxa6ajbbmh.example)"),
    "\u0430cme.example": ("ann@xn--cme-5cd.example", "ann@acme.example", "\u0430cme.example (xn--cme-5cd.example) and its subdomains"),
    "https://ACME.example./path": ("ann@eu.acme.example", "ann@acme.example.org", "the excluded domain acme.example and its subdomains"),
    "https://acme.example\\@other.example/": (None, None, "backslash"),
    "https://u@acme.example/": (None, None, "user name"),
}


@pytest.mark.parametrize("typed", EXCLUDED_SPELLINGS)
def test_an_excluded_domain_typed_in_its_admin_form_is_stored_as_its_preview_says(typed, client, operator):
    held, spared, said = EXCLUDED_SPELLINGS[typed]
    leads = [make_lead(email=held, source="hostile"), make_lead(email=spared, source="hostile")] if held else []
    client.force_login(operator)
    url = reverse("admin:compliance_excludeddomain_add")

    if held is None:
        response = client.post(url, {"domain": typed, "reason": "customer"})
        assert response.status_code == 200 and said in html.unescape(response.content.decode())
        assert not ExcludedDomain.objects.exists()
        return
    page = add_rule(client, url, {"domain": typed, "reason": "customer"})

    assert said in html.unescape(page)
    assert list(eligibility.held_leads()) == leads[:1]
