"""A CSV import of exclusion rules: its preview names the open cards and leads the new
rules hit, all rows together, and confirming it reaches every view of the queue at once."""

from __future__ import annotations

import pytest
import tablib

from caio.models import ApiToken
from compliance.admin import DoNotContactResource, ExcludedDomainResource
from compliance.impact import impact_of_rules
from compliance.models import DoNotContact, ExcludedDomain
from outreach.models import PendingEmail
from outreach.rule_changes import RULES_PER_QUERY
from tests.compliance.rule_admin import confirm_import, preview_import, views
from tests.factories import make_lead

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

DOMAINS = b"domain,reason\nhttps://www.Customer.example/,now a customer\nother.example,partner\nnobody.example,unused\n"
UNCHANGED = ["ana@customer.example", "bo@eu.customer.example", "cy@other.example"]


def test_a_domain_import_previews_every_hit_then_reaches_every_view_at_once(client, operator, queue, settings):
    # The approved card is past its undo window: only the new rules may hold it back.
    settings.REVIEW_UNDO_SECONDS = 0
    _, token = ApiToken.issue("tests")
    before = views(client, token)
    assert before["api_passing"] == UNCHANGED and before["desk"] == {"pending": 2, "eligible": 2}
    client.force_login(operator)

    page = preview_import(client, "excludeddomain", DOMAINS)

    # One preview for the three rules together: every open card and lead they hit, each once.
    assert "These 3 rules will hit 3 open card(s) and 3 lead(s)." in page
    for who, status in (("ana", "pending"), ("bo", "approved"), ("other", "pending")):
        card = queue[who]
        assert f"card {card.pk} to {card.lead.email} ({status}, spring step 1)" in page
    assert "ana@customer.example (Customer, tier_1)" in page and "cy@other.example (Other, tier_1)" in page
    assert not ExcludedDomain.objects.exists()
    client.logout()
    assert views(client, token) == before

    client.force_login(operator)
    confirm_import(client, "excludeddomain", page)
    client.logout()

    assert sorted(ExcludedDomain.objects.values_list("domain", flat=True)) == ["customer.example", "nobody.example", "other.example"]
    assert views(client, token) == {
        "desk": {"pending": 2, "excluded_domain": 2},
        "api": {"excluded_domain": 3},
        "api_passing": [],
        "trace": {"excluded_domain": 3},
        "cleanup": sorted(card.pk for card in queue.values()),
    }
    assert all("compliance.C014" in card.compliance["failed"] for card in PendingEmail.objects.all())


def test_a_reimport_that_only_changes_reasons_previews_no_new_hit(client, operator, queue):
    ExcludedDomainResource().import_data(tablib.Dataset().load("domain,reason\ncustomer.example,customer\n", format="csv"), dry_run=False)
    client.force_login(operator)

    page = preview_import(client, "excludeddomain", b"domain,reason\ncustomer.example,a current customer\n")

    assert "No row of this file adds a rule, so no open card or lead is newly hit." in page
    assert "will hit" not in page


def test_an_import_run_outside_the_admin_rechecks_the_open_cards_too(queue):
    """The re-check hangs on the resource, so an import run by a job or a command reaches the queue alike."""
    dataset = tablib.Dataset().load("email,reason\nana@customer.example,asked\n*@other.example,asked\n", format="csv")

    result = DoNotContactResource().import_data(dataset, dry_run=False)

    assert not result.has_errors() and not result.has_validation_errors()
    assert DoNotContact.objects.count() == 2
    passing = dict(PendingEmail.objects.values_list("lead__email", "compliance_passed"))
    assert passing == {"ana@customer.example": False, "bo@eu.customer.example": True, "cy@other.example": False}


def test_a_dry_run_import_changes_no_card(queue):
    dataset = tablib.Dataset().load("domain,reason\ncustomer.example,customer\n", format="csv")

    result = ExcludedDomainResource().import_data(dataset, dry_run=True)

    assert result.impact.card_total == 2 and result.impact.lead_total == 2
    assert not ExcludedDomain.objects.exists()
    assert PendingEmail.objects.filter(compliance_passed=True).count() == 3


def test_many_rules_hit_exactly_what_the_same_rules_hit_one_by_one(queue):
    """An import's many rules are matched row by row in Python, a few in SQL: both must agree."""
    for email, domain in (("dee@deep.sub.customer.example", ""), ("eve@customerexample.test", "customerexample.test")):
        make_lead(email=email, domain=domain, company="Lookalike")
    rules: list[tuple[str | None, str]] = [(None, f"unused{n}.example") for n in range(RULES_PER_QUERY)]
    rules += [(None, "sub.customer.example"), (None, "eu.customer.example"), ("cy@other.example", ""), (None, "xample")]
    assert len(rules) > RULES_PER_QUERY

    together = impact_of_rules(rules)
    one_by_one = [impact_of_rules([rule]) for rule in rules]

    assert together.rules == len(rules)
    assert together.leads == sorted({line for impact in one_by_one for line in impact.leads}) == [
        "bo@eu.customer.example (Customer EU, tier_1)",
        "cy@other.example (Other, tier_1)",
        "dee@deep.sub.customer.example (Lookalike, tier_1)",
    ]
    assert set(together.cards) == {line for impact in one_by_one for line in impact.cards} == {
        f"card {queue['bo'].pk} to bo@eu.customer.example (approved, spring step 1)",
        f"card {queue['other'].pk} to cy@other.example (pending, spring step 1)",
    }
    assert (together.card_total, together.lead_total) == (2, 3)


def test_a_large_import_rechecks_exactly_the_cards_its_rules_hit(queue):
    rows = "".join(f"unused{n}.example,filler\n" for n in range(RULES_PER_QUERY)) + "eu.customer.example,customer\n"
    dataset = tablib.Dataset().load("domain,reason\n" + rows, format="csv")

    result = ExcludedDomainResource().import_data(dataset, dry_run=False)

    assert result.totals["new"] == RULES_PER_QUERY + 1
    passing = dict(PendingEmail.objects.values_list("lead__email", "compliance_passed"))
    assert passing == {"ana@customer.example": True, "bo@eu.customer.example": False, "cy@other.example": True}
