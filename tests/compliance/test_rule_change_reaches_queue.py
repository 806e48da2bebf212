"""Adding an exclusion rule reaches the whole queue at once, after a preview of what it hits."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from caio.models import ApiToken
from compliance.models import DoNotContact, ExcludedDomain
from outreach import review
from outreach.models import PendingEmail
from tests.compliance.rule_admin import add_rule, preview_rule
from tests.factories import make_campaign, make_lead

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

ADD_DOMAIN = "/admin/compliance/excludeddomain/add/"
ADD_ENTRY = "/admin/compliance/donotcontact/add/"


@pytest.fixture
def queue(hos):
    """Three drafted cards through the real pipeline, two of them for leads at customer.example; one approved."""
    make_campaign(ref="spring")
    ana = make_lead(email="ana@customer.example", domain="customer.example", company="Customer")
    bo = make_lead(email="bo@eu.customer.example", company="Customer EU")
    other = make_lead(email="cy@other.example", domain="other.example", company="Other")
    call_command("run_pipeline", "--source", "wpromote", "--limit", "10", "--apply", stdout=StringIO(), stderr=StringIO())
    cards = {card.lead.email: card for card in PendingEmail.objects.select_related("lead")}
    assert len(cards) == 3 and all(card.compliance_passed for card in cards.values())
    review.approve(cards["bo@eu.customer.example"], user=hos)
    return {"ana": cards[ana.email], "bo": cards[bo.email], "other": cards[other.email]}


def views(client, token: str) -> dict:
    """What the desk, the API, trace_queue and cleanup_queue say about the queue now."""
    api = client.get("/api/pending-emails?include_held_back=true", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    trace_out, cleanup_out = StringIO(), StringIO()
    call_command("trace_queue", "--json", "--no-store", stdout=trace_out)
    call_command("cleanup_queue", "--json", stdout=cleanup_out)
    trace = json.loads(trace_out.getvalue())
    return {
        "desk": {k: v for k, v in review.queue_split().items() if v},
        "api": api["hygiene"]["held_back_by_reason"],
        "api_passing": sorted(c["lead_email"] for c in api["cards"] if c["compliance_passed"]),
        "trace": trace["counts"]["held_back_by_reason"],
        "cleanup": sorted(row["card"] for row in json.loads(cleanup_out.getvalue())["cards"]),
    }


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
    rule = ExcludedDomain.objects.create(domain="customer.example")
    assert not PendingEmail.objects.get(pk=queue["ana"].pk).compliance_passed

    rule.delete()

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
