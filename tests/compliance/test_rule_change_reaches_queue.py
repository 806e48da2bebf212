"""Adding an exclusion rule reaches the whole queue at once, after a preview of what it hits."""

from __future__ import annotations

import pytest

from caio.models import ApiToken
from compliance.models import DoNotContact, ExcludedDomain
from compliance.services import remove_rule, save_rule
from outreach.models import PendingEmail
from tests.compliance.rule_admin import add_rule, preview_rule, views

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

ADD_DOMAIN = "/admin/compliance/excludeddomain/add/"
ADD_ENTRY = "/admin/compliance/donotcontact/add/"


def test_an_excluded_domain_is_previewed_then_reaches_every_view_at_once(client, operator, queue, settings):
    # The approved card is past its undo window: only the new rule may hold it back.
    settings.REVIEW_UNDO_SECONDS = 0
    _, token = ApiToken.issue("tests")
    before = views(client, token)
    assert before == {
        "desk": {"pending": 2, "eligible": 2},
        "api": {},
        "api_passing": ["ana@customer.example", "bo@eu.customer.example", "cy@other.example"],
        "trace": {},
        "cleanup": [],
    }
    client.force_login(operator)

    page, _ = preview_rule(client, ADD_DOMAIN, {"domain": "https://www.Customer.example/", "reason": "now a customer"})

    # The preview names the open cards and leads the rule will hit, and nothing is saved yet.
    assert "This rule will hit 2 open card(s) and 2 lead(s)." in page
    assert f"card {queue['ana'].pk} to ana@customer.example (pending, spring step 1)" in page
    assert f"card {queue['bo'].pk} to bo@eu.customer.example (approved, spring step 1)" in page
    assert "cy@other.example" not in page
    assert not ExcludedDomain.objects.exists()
    client.logout()
    assert views(client, token) == before

    client.force_login(operator)
    add_rule(client, ADD_DOMAIN, {"domain": "https://www.Customer.example/", "reason": "now a customer"})
    client.logout()

    assert ExcludedDomain.objects.get().domain == "customer.example"
    assert views(client, token) == {
        "desk": {"pending": 2, "eligible": 1, "excluded_domain": 1},
        "api": {"excluded_domain": 2},
        "api_passing": ["cy@other.example"],
        "trace": {"excluded_domain": 2},
        "cleanup": sorted([queue["ana"].pk, queue["bo"].pk]),
    }
    stored = PendingEmail.objects.get(pk=queue["ana"].pk)
    assert stored.compliance_passed is False and "compliance.C014" in stored.compliance["failed"]


def test_deleting_the_rule_gives_the_cards_their_pass_back(queue):
    rule = ExcludedDomain(domain="customer.example")
    assert save_rule(rule) == 2
    assert not PendingEmail.objects.get(pk=queue["ana"].pk).compliance_passed

    assert remove_rule(rule) == 2

    assert PendingEmail.objects.filter(pk__in=[c.pk for c in queue.values()], compliance_passed=True).count() == 3


def test_a_do_not_contact_entry_is_previewed_and_changing_it_asks_again(client, operator, queue):
    client.force_login(operator)

    page, token = preview_rule(client, ADD_ENTRY, {"entry": "ana@customer.example", "reason": "asked"})
    assert "This rule will hit 1 open card(s) and 1 lead(s)." in page
    # A different entry than the one previewed is previewed again, not saved.
    page, _ = preview_rule(client, ADD_ENTRY, {"entry": "*@other.example", "reason": "asked", "previewed": token})
    assert "cy@other.example" in page and not DoNotContact.objects.exists()

    add_rule(client, ADD_ENTRY, {"entry": "ana@customer.example", "reason": "asked"})

    assert PendingEmail.objects.get(pk=queue["ana"].pk).compliance_passed is False
    assert PendingEmail.objects.get(pk=queue["other"].pk).compliance_passed is True
    rule = DoNotContact.objects.get()
    # Changing only the reason hits nothing new: it saves at once.
    saved = client.post(f"/admin/compliance/donotcontact/{rule.pk}/change/", {"entry": "ana@customer.example", "reason": "asked twice"})
    assert saved.status_code == 302
    assert DoNotContact.objects.get().reason == "asked twice"
