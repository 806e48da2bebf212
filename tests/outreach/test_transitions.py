from __future__ import annotations

import itertools

import pytest

from django.utils import timezone

from outreach.approval import approval_record
from outreach.models import CardStatus, CardTransition, PendingEmail
from outreach.transitions import ALLOWED, ForbiddenTransition, ImpossibleState, StateChanged, transition
from tests.factories import a_rejection_tag, make_card

ALL_STATES = [choice.value for choice in CardStatus]
ALLOWED_PAIRS = [(src, dst) for src, targets in ALLOWED.items() for dst in sorted(targets)]
FORBIDDEN_PAIRS = [
    (src, dst) for src, dst in itertools.product(ALL_STATES, ALL_STATES) if dst not in ALLOWED.get(src, ())
]


def built(status: str) -> PendingEmail:
    """A card in `status` with what that status carries (the factory refuses it otherwise)."""
    extra = {
        CardStatus.SENT: {"sent_at": timezone.now()},
        CardStatus.REJECTED: {"rejection_tag": a_rejection_tag()},
    }
    return make_card(status=status, **extra.get(status, {}))


def carried(card: PendingEmail, to_status: str, reviewer) -> dict:
    """What the product stores with a move to `to_status` (as review and the job do)."""
    if to_status == CardStatus.APPROVED:
        return {"reviewed_by": reviewer, **approval_record(card)}
    if to_status == CardStatus.REJECTED:
        return {"rejection_tag": a_rejection_tag()}
    if to_status == CardStatus.SENT:
        return {"sent_at": timezone.now(), "ghl_message_id": "msg0001"}
    return {}


def test_it_lists_every_state():
    assert set(ALLOWED) == set(ALL_STATES)


@pytest.mark.parametrize(("src", "dst"), ALLOWED_PAIRS)
def test_it_allows_each_listed_move_and_records_it(db, hos, src, dst):
    card = built(src)

    transition(card, dst, actor=hos, reason="because", **carried(card, dst, hos))

    card.refresh_from_db()
    assert card.status == dst
    record = CardTransition.objects.get(card=card)
    assert (record.from_status, record.to_status, record.actor, record.reason) == (src, dst, hos, "because")


@pytest.mark.parametrize(("src", "dst"), FORBIDDEN_PAIRS)
def test_it_refuses_every_other_move_and_leaves_the_card_alone(db, src, dst):
    card = built(src)

    with pytest.raises(ForbiddenTransition, match=f"from {src} to {dst}"):
        transition(card, dst)

    card.refresh_from_db()
    assert card.status == src
    assert not CardTransition.objects.filter(card=card).exists()


def test_it_refuses_when_someone_else_moved_the_card_first(db, hos):
    card = make_card(status=CardStatus.PENDING)
    stale_copy = PendingEmail.objects.get(pk=card.pk)
    transition(card, CardStatus.APPROVED, actor=hos, **carried(card, CardStatus.APPROVED, hos))

    # The second reviewer still holds the pending copy: it must not overwrite.
    with pytest.raises(StateChanged, match="is now approved, not pending"):
        transition(stale_copy, CardStatus.REJECTED, actor=hos, rejection_tag=a_rejection_tag())

    card.refresh_from_db()
    assert card.status == CardStatus.APPROVED
    assert CardTransition.objects.filter(card=card).count() == 1


def test_it_writes_extra_fields_in_the_same_update(db):
    card = make_card(status=CardStatus.QUEUED)

    transition(card, CardStatus.FAILED, actor_label="worker", last_error="lead unsubscribed")

    card.refresh_from_db()
    assert card.last_error == "lead unsubscribed"
    assert CardTransition.objects.get(card=card).who == "worker"


@pytest.mark.parametrize(
    ("src", "dst", "dropped", "message"),
    [
        (CardStatus.PENDING, CardStatus.REJECTED, "rejection_tag", "A rejected card carries the rejection tag"),
        (CardStatus.SENDING, CardStatus.SENT, "ghl_message_id", "A sent card carries when it was sent and GHL's message id"),
        (CardStatus.SENDING, CardStatus.SENT, "sent_at", "A sent card carries when it was sent and GHL's message id"),
        (CardStatus.PENDING, CardStatus.APPROVED, "reviewed_by", "names its reviewer and the hash"),
        (CardStatus.PENDING, CardStatus.APPROVED, "approved_content_hash", "names its reviewer and the hash"),
    ],
)
def test_it_refuses_a_move_that_would_leave_an_impossible_card(db, hos, src, dst, dropped, message):
    card = built(src)
    fields = carried(card, dst, hos)
    fields[dropped] = "" if dropped in ("ghl_message_id", "approved_content_hash") else None

    with pytest.raises(ImpossibleState, match=message):
        transition(card, dst, actor=hos, **fields)

    card = PendingEmail.objects.get(pk=card.pk)
    assert card.status == src
    assert not CardTransition.objects.filter(card=card).exists()
