"""The database refuses the card states the product never makes (models.CARD_INVARIANTS).

Marked `postgres` so bin/test runs it on PostgreSQL too (CAIO_TEST_DB=postgres).
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from outreach.models import CardStatus, PendingEmail
from tests.factories import a_rejection_tag, make_card

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.mark.parametrize(
    ("status", "fields", "constraint"),
    [
        (CardStatus.REJECTED, {"rejection_tag": None}, "rejected_card_has_tag"),
        (CardStatus.SENT, {"sent_at": None, "ghl_message_id": "msg1"}, "sent_card_has_time_and_message"),
        (CardStatus.SENT, {"sent_at": "now", "ghl_message_id": ""}, "sent_card_has_time_and_message"),
        (CardStatus.APPROVED, {"reviewed_by": None}, "approved_card_has_reviewer_and_hash"),
        (CardStatus.QUEUED, {"approved_content_hash": ""}, "approved_card_has_reviewer_and_hash"),
        (CardStatus.SENDING, {"reviewed_by": None}, "approved_card_has_reviewer_and_hash"),
        (CardStatus.SENT, {"sent_at": "now", "ghl_message_id": "msg1", "approved_content_hash": ""}, "approved_card_has_reviewer_and_hash"),
    ],
)
def test_the_database_refuses_an_impossible_card(status, fields, constraint):
    card = make_card(status=CardStatus.APPROVED)
    values = {name: timezone.now() if value == "now" else value for name, value in fields.items()}

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        PendingEmail.objects.filter(pk=card.pk).update(status=status, **values)

    assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.APPROVED


def test_the_database_takes_the_same_cards_when_they_carry_what_they_must():
    card = make_card(status=CardStatus.APPROVED)

    PendingEmail.objects.filter(pk=card.pk).update(status=CardStatus.SENT, sent_at=timezone.now(), ghl_message_id="msg1")
    rejected = make_card(status=CardStatus.REJECTED, rejection_tag=a_rejection_tag())

    assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.SENT
    assert PendingEmail.objects.get(pk=rejected.pk).rejection_tag is not None


@pytest.mark.parametrize(
    ("status", "fields", "message"),
    [
        (CardStatus.SENT, {}, "A sent card always has sent_at"),
        (CardStatus.REJECTED, {}, "A rejected card always has a rejection tag"),
        (CardStatus.APPROVED, {"approved_content_hash": ""}, "always has the content hash"),
    ],
)
def test_the_factory_refuses_what_the_database_refuses(status, fields, message):
    with pytest.raises(ValueError, match=message):
        make_card(status=status, **fields)
    assert not PendingEmail.objects.exists()
