"""Suppression that cannot be dodged: each hostile spelling of an address or a domain is
either refused at import with a reason on its row, or matched by the do-not-contact
list, the excluded domains (and their subdomains) and the duplicate check exactly as
its plain spelling is; none reaches `pending` as a sendable card."""

from __future__ import annotations

import idna
import pytest
import tablib

from compliance.admin import DoNotContactResource, ExcludedDomainResource
from compliance.models import DoNotContact, ExcludedDomain
from compliance.rules import do_not_contact_q, excluded_domain_q
from outreach.models import Lead, PendingEmail
from outreach.drafting.pipeline import run_pipeline
from outreach.leads.resources import LeadResource
from tests.factories import make_campaign, make_lead

pytestmark = pytest.mark.django_db

FULL_WIDTH = str.maketrans({chr(c): chr(c - 0x21 + 0xFF01) for c in range(0x21, 0x7F)})


def _in_domain(address: str, char: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local}@{domain[:3]}{char}{domain[3:]}"


def _punycode(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local}@{idna.encode(domain, uts46=True).decode()}"


def _unicode(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local}@{idna.decode(domain)}"


# name -> (spelling of a plain address, refused?)
SPELLINGS = {
    "plain": (lambda a: a, False),
    "upper case": (str.upper, False),
    "full-width letters": (lambda a: a.translate(FULL_WIDTH), False),
    "trailing dot": (lambda a: a + ".", False),
    "spaces around": (lambda a: f"  {a} ", False),
    "ideographic full stop": (lambda a: a.replace(".", "\u3002"), False),
    "punycode domain": (_punycode, False),
    "unicode domain": (_unicode, False),
    "zero-width space in domain": (lambda a: _in_domain(a, "\u200b"), True),
    "zero-width joiner in domain": (lambda a: _in_domain(a, "\u200d"), True),
    "zero-width space in local part": (lambda a: a[:2] + "\u200b" + a[2:], True),
    "BOM": (lambda a: _in_domain(a, "\ufeff"), True),
    "bidi override": (lambda a: a + "\u202e", True),
    "soft hyphen": (lambda a: _in_domain(a, "\u00ad"), True),
}

DO_NOT_CONTACT = "name@bücher-wettbewerb.example"
EXCLUDED = "bücher-kunde.example"


@pytest.fixture
def campaign():
    return make_campaign(ref="hostile")


def import_leads(*addresses: str) -> tablib.Dataset:
    rows = "".join(f'"{address}",Ann,Lee,Acme,CMO,tier_1,hostile\n' for address in addresses)
    dataset = tablib.Dataset().load("email,first_name,last_name,company,title,tier,source\n" + rows, format="csv")
    return LeadResource().import_data(dataset, dry_run=False)


def sendable_cards(lead_ids) -> list[PendingEmail]:
    return list(PendingEmail.objects.filter(lead_id__in=lead_ids, status="pending", compliance_passed=True))


def assert_refused_on_its_row(result, spelling: str) -> None:
    assert len(result.invalid_rows) == 1, f"{spelling!r} was accepted"
    reasons = " ".join(result.invalid_rows[0].error_dict.get("email", []))
    assert "invisible character U+" in reasons, reasons
    assert not Lead.objects.filter(source="hostile").exists()


@pytest.mark.parametrize("name", SPELLINGS)
@pytest.mark.parametrize("address", [DO_NOT_CONTACT, "Name@Competitor.example"])
def test_the_do_not_contact_list_matches_every_spelling(name, address, campaign):
    DoNotContact.objects.create(email=address)
    spell, refused = SPELLINGS[name]

    result = import_leads(spell(address))

    if refused:
        assert_refused_on_its_row(result, spell(address))
        return
    assert not result.has_validation_errors(), [row.error_dict for row in result.invalid_rows]
    lead = Lead.objects.get(source="hostile")
    assert Lead.objects.filter(do_not_contact_q(lead_prefix="")).get() == lead
    report = run_pipeline(source="hostile", limit=10, campaign_ref=campaign.ref, apply=True)
    assert report.skipped["do_not_contact"] == 1
    assert sendable_cards([lead.pk]) == []


@pytest.mark.parametrize("name", SPELLINGS)
@pytest.mark.parametrize("address", [f"buyer@{EXCLUDED}", f"buyer@eu.mail.{EXCLUDED}", "buyer@brightcustomer.example"])
def test_the_excluded_domains_and_their_subdomains_match_every_spelling(name, address, campaign):
    ExcludedDomain.objects.create(domain=EXCLUDED)
    ExcludedDomain.objects.create(domain="brightcustomer.example")
    spell, refused = SPELLINGS[name]

    result = import_leads(spell(address))

    if refused:
        assert_refused_on_its_row(result, spell(address))
        return
    lead = Lead.objects.get(source="hostile")
    assert Lead.objects.filter(excluded_domain_q(lead_prefix="")).get() == lead
    report = run_pipeline(source="hostile", limit=10, campaign_ref=campaign.ref, apply=True)
    assert report.skipped["excluded_domain"] == 1
    assert sendable_cards([lead.pk]) == []


@pytest.mark.parametrize("name", SPELLINGS)
def test_the_duplicate_check_matches_every_spelling(name):
    existing = make_lead(email="anna@bücher.example", source="stored")
    spell, refused = SPELLINGS[name]

    result = import_leads("other@x.example", spell("anna@bücher.example"))

    errors = [" ".join(row.error_dict.get("email", [])) for row in result.invalid_rows]
    assert len(errors) == 1, f"{spell('anna@bücher.example')!r} was accepted"
    if refused:
        assert "invisible character U+" in errors[0]
    else:
        assert f"a lead with {existing.email} already exists" in errors[0]
    assert list(Lead.objects.filter(source="hostile").values_list("email", flat=True)) == ["other@x.example"]


@pytest.mark.parametrize("name", SPELLINGS)
def test_a_file_repeating_an_address_in_another_spelling_is_a_duplicate_row(name):
    spell, refused = SPELLINGS[name]

    result = import_leads("anna@bücher.example", spell("anna@bücher.example"))

    assert [row.number for row in result.invalid_rows] == [2]
    expected = "invisible character U+" if refused else "Duplicate of row 1 in this file"
    assert expected in " ".join(result.invalid_rows[0].error_dict["email"])


RULE_SPELLINGS = {
    "plain": "bücher-kunde.example",
    "punycode": "xn--bcher-kunde-thb.example",
    "upper case": "BÜCHER-KUNDE.EXAMPLE",
    "www.": "www.bücher-kunde.example",
    "pasted URL": "https://www.bücher-kunde.example/kontakt?x=1",
    "at sign": "@bücher-kunde.example",
    "trailing dot": "bücher-kunde.example.",
    "full-width": "bücher-kunde.example".translate(FULL_WIDTH),
}


@pytest.mark.postgres
@pytest.mark.parametrize("name", RULE_SPELLINGS)
@pytest.mark.parametrize("lead_address", ["buyer@bücher-kunde.example", "buyer@xn--bcher-kunde-thb.example", "buyer@shop.bücher-kunde.example"])
def test_a_rule_entered_in_any_spelling_matches_the_plain_lead(name, lead_address, campaign):
    lead = make_lead(email=lead_address, source="hostile")
    spelling = RULE_SPELLINGS[name]

    excluded = ExcludedDomainResource().import_data(tablib.Dataset().load(f"domain\n{spelling}\n", format="csv"), dry_run=False)
    entry = spelling if spelling.startswith(("@", "https://")) else f"@{spelling}"
    listed = DoNotContactResource().import_data(tablib.Dataset().load(f"email\n{entry}\n", format="csv"), dry_run=False)

    assert not excluded.has_validation_errors() and not listed.has_validation_errors()
    assert ExcludedDomain.objects.get().domain == DoNotContact.objects.get().domain == "xn--bcher-kunde-thb.example"
    assert Lead.objects.filter(excluded_domain_q(lead_prefix="")).get() == lead
    assert Lead.objects.filter(do_not_contact_q(lead_prefix="")).get() == lead
    run_pipeline(source="hostile", limit=10, campaign_ref=campaign.ref, apply=True)
    assert sendable_cards([lead.pk]) == []


def test_a_pasted_customer_website_excludes_the_customers_addresses(campaign):
    ExcludedDomainResource().import_data(tablib.Dataset().load("domain\nhttps://www.customer-two.com/path\n", format="csv"), dry_run=False)
    lead = make_lead(email="buyer@customer-two.com", source="hostile")

    report = run_pipeline(source="hostile", limit=10, campaign_ref=campaign.ref, apply=True)

    assert ExcludedDomain.objects.get().domain == "customer-two.com"
    assert report.skipped["excluded_domain"] == 1
    assert sendable_cards([lead.pk]) == []


def test_a_do_not_contact_domain_entry_holds_back_a_card_drafted_before_it(campaign):
    lead = make_lead(email="buyer@sub.competitor.example", source="hostile")
    run_pipeline(source="hostile", limit=10, campaign_ref=campaign.ref, apply=True)
    card = PendingEmail.objects.get(lead=lead)

    DoNotContact.objects.create(domain="Competitor.example")

    from outreach.checks import evaluate

    result = evaluate(card)
    assert "compliance.C011" in result.failed_ids
    assert "Everyone at competitor.example is on the do-not-contact list." in " ".join(result.failures)
    assert PendingEmail.objects.filter(do_not_contact_q()).get() == card


@pytest.mark.parametrize(
    "company_domain, refused",
    [
        ("brightcustomer.example", False),
        ("https://www.BrightCustomer.example/about", False),
        ("shop.brightcustomer.example.", False),
        ("bright\u200bcustomer.example", True),
    ],
)
def test_a_company_domain_column_is_matched_or_refused_like_an_address(company_domain, refused, campaign):
    ExcludedDomain.objects.create(domain="brightcustomer.example")
    dataset = tablib.Dataset().load(
        f'email,first_name,tier,source,domain\nceo@webmail.example,Ann,tier_1,hostile,"{company_domain}"\n', format="csv"
    )

    result = LeadResource().import_data(dataset, dry_run=False)

    if refused:
        assert "invisible character U+200B" in " ".join(result.invalid_rows[0].error_dict["domain"])
        assert not Lead.objects.exists()
        return
    lead = Lead.objects.get()
    assert lead.domain.endswith("brightcustomer.example") and lead.domain_as_entered == company_domain
    run_pipeline(source="hostile", limit=10, campaign_ref=campaign.ref, apply=True)
    assert sendable_cards([lead.pk]) == [] and not PendingEmail.objects.exists()
