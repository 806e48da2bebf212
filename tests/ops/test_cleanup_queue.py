from __future__ import annotations

from django.utils import timezone

import json
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command

from outreach.reports import queue_facts
from outreach.models import CardStatus, RejectionTag
from outreach.transitions import transition
from tests.factories import make_campaign, make_card, make_lead, a_rejection_tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue():
    """One card of each kind: fresh, stale, canary, mislabelled, suppressed, shadow, tier_2, and finished ones."""
    return {
        "fresh": make_card(),
        "stale": make_card(age_hours=80),
        "stale_approved": make_card(status=CardStatus.APPROVED, age_hours=100),
        "canary": make_card(is_canary=True),
        "tier_3": make_card(lead=make_lead(tier="tier_3")),
        "suppressed": make_card(lead=make_lead(do_not_contact=True)),
        "shadow": make_card(is_shadow=True),
        "tier_2": make_card(
            lead=make_lead(tier="tier_2"), campaign=make_campaign(tier="tier_2", classifier="outbound_tier_2")
        ),
        "sent": make_card(status=CardStatus.SENT, sent_at=timezone.now(), age_hours=200),
        "rejected": make_card(status=CardStatus.REJECTED, rejection_tag=a_rejection_tag(), age_hours=200),
        "queued": make_card(status=CardStatus.QUEUED, age_hours=200),
        "sending": make_card(status=CardStatus.SENDING, age_hours=200),
    }


def statuses(cards):
    return {name: type(card).objects.get(pk=card.pk).status for name, card in cards.items()}


def test_the_dry_run_lists_what_would_change_and_changes_nothing(queue):
    before = statuses(queue)
    out = StringIO()
    call_command("cleanup_queue", stdout=out)
    text = out.getvalue()
    assert "Dry run: 4 card(s) would be rejected" in text
    assert f"card {queue['stale'].pk} " in text and "held back: stale (older than 72h)" in text
    # Cards only waiting for the canary or their tier stay for later.
    assert f"card {queue['canary'].pk} " not in text and f"card {queue['tier_2'].pk} " not in text
    assert statuses(queue) == before


def test_apply_rejects_with_the_hygiene_tag_and_never_touches_finished_or_in_flight_cards(queue):
    call_command("cleanup_queue", "--apply", stdout=StringIO())
    after = statuses(queue)
    for name in ("stale", "stale_approved", "tier_3", "suppressed"):
        assert after[name] == CardStatus.REJECTED, name
        card = type(queue[name]).objects.get(pk=queue[name].pk)
        assert card.rejection_tag.slug == RejectionTag.HYGIENE
        assert card.transitions.get().actor_label == "cleanup_queue"
    assert after["fresh"] == after["shadow"] == after["canary"] == after["tier_2"] == CardStatus.PENDING
    assert (after["sent"], after["rejected"], after["queued"], after["sending"]) == ("sent", "rejected", "queued", "sending")
    # It never deletes.
    assert type(queue["sent"]).objects.count() == len(queue)


def test_a_card_claimed_meanwhile_is_skipped_and_counted(queue):
    original = queue_facts.transition

    def claim_first(card, to_status, **kwargs):
        if card.pk == queue["stale_approved"].pk:
            # A live cycle claims the card between the plan and the rejection.
            transition(card, CardStatus.QUEUED, expected=CardStatus.APPROVED)
            card.status = CardStatus.APPROVED
        return original(card, to_status, **kwargs)

    out = StringIO()
    with mock.patch.object(queue_facts, "transition", side_effect=claim_first):
        call_command("cleanup_queue", "--apply", "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert [row["card"] for row in document["skipped"]] == [queue["stale_approved"].pk]
    assert len(document["rejected"]) == 3
    assert type(queue["sent"]).objects.get(pk=queue["stale_approved"].pk).status == CardStatus.QUEUED


def test_max_age_hours_narrows_staleness():
    card = make_card(age_hours=10)
    result = queue_facts.cleanup(apply=False, max_age_hours=5)
    assert [v.card.pk for v in result.planned] == [card.pk]
    out = StringIO()
    call_command("cleanup_queue", "--max-age-hours", "5", stdout=out)
    # It should name the cutoff it applied, not the default one.
    assert "older than 5h" in out.getvalue() and "72h" not in out.getvalue()
