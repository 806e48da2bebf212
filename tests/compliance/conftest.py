"""A small open queue for the rule tests: cards built through the real pipeline and review."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from outreach import review
from outreach.models import PendingEmail
from tests.factories import make_campaign, make_lead


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
