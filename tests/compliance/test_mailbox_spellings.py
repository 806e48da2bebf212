"""Issue 21's spellings through the CSV import: each is refused at entry with a reason, or matched
exactly as its plain spelling by the do-not-contact list, the excluded domains and the duplicate
check; none reaches a sendable card; a ß lead is never stored at the ss domain."""

from __future__ import annotations

import pytest
import tablib

from compliance.admin import DoNotContactResource, ExcludedDomainResource
from compliance.models import DoNotContact, ExcludedDomain
from outreach.drafting.pipeline import run_pipeline
from outreach.leads.resources import LeadResource
from outreach.models import Lead, PendingEmail
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
