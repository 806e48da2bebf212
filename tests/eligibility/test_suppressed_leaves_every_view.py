"""A suppressed lead leaves every view at once: unsubscribe and bounce reach its open cards through suppress_lead."""

from __future__ import annotations

import pytest
import time_machine

from caio.models import ApiToken
from outreach import eligibility, review
from outreach.inbound.suppression import suppress_lead
from outreach.models import CardStatus, PendingEmail
from outreach.sending.select import dry_run
from tests.dispatch.helpers import green_gates
from tests.eligibility.test_one_verdict import NOW, draft, leads
from tests.factories import make_campaign

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@time_machine.travel(NOW, tick=False)
def test_a_suppressed_lead_leaves_every_view_at_once(client, hos, operator, redis_conn):
    """Unsubscribe and bounce reach the lead's open cards through suppress_lead: no view keeps them."""
    main = make_campaign(ref="main")
    cards = {}
    for reason in ("unsubscribed", "bounced"):
        leads(reason)
        pending, approved = draft(reason, main)
        review.approve(approved, user=hos)
        for card in (pending, approved):
            suppress_lead(card.lead, reason=reason, source="ghl_webhook")
            cards[card.pk] = reason

    for pk, reason in cards.items():
        card = PendingEmail.objects.get(pk=pk)
        assert card.status == CardStatus.REJECTED
        # The rule still names why, should such a card ever be in flight.
        assert eligibility.judge_one(card).reason == reason
    assert review.queue_split()[review.PENDING] == 0
    _, raw = ApiToken.issue("tests")
    body = client.get("/api/pending-emails", {"include_held_back": "true"}, HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert body["cards"] == []
    green_gates()
    assert dry_run().selected == dry_run().held_back == []
