"""The desk's list counts what it shows once, and its total agrees with the hygiene line's split.

The split itself (every pending card by first reason) is read by the page
after it is shown (tests/review/test_admin.py), never by the list request.
"""

from __future__ import annotations

from django.utils import timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from outreach import review
from outreach.models import CardStatus, Tier
from tests.factories import make_campaign, make_card, make_lead, a_rejection_tag

pytestmark = pytest.mark.django_db

QUEUE_URL = reverse("admin:outreach_pendingemail_changelist")


@pytest.fixture
def queue(client, hos):
    """Two eligible cards, two stale, a canary, a tier_2 card, and decided cards the queue never counts."""
    for _ in range(2):
        make_card()
        make_card(age_hours=100)
    make_card(is_canary=True)
    make_card(lead=make_lead(tier=Tier.TIER_2), campaign=make_campaign(tier=Tier.TIER_2, classifier="outbound_tier_2"))
    make_card(status=CardStatus.SENT, sent_at=timezone.now())
    make_card(status=CardStatus.REJECTED, rejection_tag=a_rejection_tag())
    client.force_login(hos)
    return client


def counts_of_pending_emails(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith("SELECT COUNT(*)") and '"outreach_pendingemail"' in q["sql"]]


@pytest.mark.parametrize(
    "params, slice_name",
    [({}, review.ELIGIBLE), ({"queue": "eligible"}, review.ELIGIBLE), ({"queue": "stale"}, "stale"),
     ({"queue": "pending"}, review.PENDING), ({"queue": "canary", "o": "1"}, "canary")],
)
def test_a_slice_shown_whole_counts_once_and_agrees_with_the_split(queue, params, slice_name):
    with CaptureQueriesContext(connection) as captured:
        page = queue.get(QUEUE_URL, params)
    assert page.status_code == 200
    expected = review.queue_split()[slice_name]
    assert page.context["cl"].result_count == expected == len(page.context["cl"].result_list) > 0
    assert len(counts_of_pending_emails(captured.captured_queries)) == 1
    assert not any("CASE WHEN" in q["sql"] and "GROUP BY" in q["sql"] for q in captured.captured_queries), "the split"


@pytest.mark.parametrize(
    "params, expected",
    [({"queue": "all"}, 8), ({"status__exact": "sent"}, 1), ({"q": "nobody-matches-this"}, 0),
     ({"lead__tier__exact": "tier_2", "queue": "pending"}, 1)],
)
def test_a_narrowed_or_other_list_counts_what_it_shows(queue, params, expected):
    with CaptureQueriesContext(connection) as captured:
        page = queue.get(QUEUE_URL, params)
    assert page.status_code == 200
    assert page.context["cl"].result_count == expected
    assert len(counts_of_pending_emails(captured.captured_queries)) == 1
