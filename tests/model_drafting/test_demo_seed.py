"""The demo: seed_demo drafts step 1 of the main campaign with the model sandbox bin/demo starts (no key, loopback)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from outreach.drafting.contract import card_grounding_failures
from outreach.management.commands.seed_demo import CAMPAIGN_REF
from outreach.models import ModelCall, PendingEmail

pytestmark = pytest.mark.django_db

# bin/demo's rates.
DEMO_RATES = {"invented_claim": 0.15, "banned_phrase": 0.1, "placeholder": 0.05, "malformed": 0.05}


def test_the_demo_seeds_model_drafted_cards_with_their_evidence(model_sandbox, settings, admin_client):
    settings.MODEL_API_KEY = ""  # no key: the sandbox needs none
    model_sandbox.configure({"rates": DEMO_RATES, "seed": "demo-2"})  # bin/demo's seed
    out = StringIO()

    call_command("seed_demo", stdout=out)

    cards = PendingEmail.objects.filter(campaign__ref=CAMPAIGN_REF, drafter="model")
    assert cards.count() == 3, out.getvalue()
    assert "Model-drafted cards: 3" in out.getvalue()
    assert all(card.claims and card.compliance_passed and not card_grounding_failures(card) for card in cards)
    assert sum(model_sandbox.stats.values()) == ModelCall.objects.aggregate(n=Sum("attempts"))["n"]
    # The demo shows caught failures too: with this seed some drafts were refused and retried before passing.
    retried = [card for card in cards if card.draft_attempts > 1]
    assert retried, [card.draft_attempts for card in cards]
    page = admin_client.get(f"/admin/outreach/pendingemail/{retried[0].pk}/change/").content.decode()
    assert 'id="evidence-caught"' in page and ("banned phrase" in page or "globex" in page)
    page = admin_client.get(f"/admin/outreach/pendingemail/{cards[0].pk}/change/").content.decode()
    assert 'id="evidence"' in page and "Northwind Media cut its weekly paid media reporting" in page

    call_command("seed_demo", stdout=StringIO())
    assert PendingEmail.objects.filter(drafter="model").count() == 3
