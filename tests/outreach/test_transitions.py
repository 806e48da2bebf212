from __future__ import annotations

import itertools

import pytest

from outreach.models import CardStatus, CardTransition, PendingEmail
from outreach.transitions import ALLOWED, ForbiddenTransition, StateChanged, transition
from tests.factories import make_card

ALL_STATES = [choice.value for choice in CardStatus]
ALLOWED_PAIRS = [(src, dst) for src, targets in ALLOWED.items() for dst in sorted(targets)]
FORBIDDEN_PAIRS = [
    (src, dst) for src, dst in itertools.product(ALL_STATES, ALL_STATES) if dst not in ALLOWED.get(src, ())
]


def test_it_lists_every_state():
    assert set(ALLOWED) == set(ALL_STATES)


@pytest.mark.parametrize(("src", "dst"), ALLOWED_PAIRS)
def test_it_allows_each_listed_move_and_records_it(db, hos, src, dst):
    card = make_card(status=src)

    transition(card, dst, actor=hos, reason="because")

    card.refresh_from_db()
    assert card.status == dst
    record = CardTransition.objects.get(card=card)
    assert (record.from_status, record.to_status, record.actor, record.reason) == (src, dst, hos, "because")


@pytest.mark.parametrize(("src", "dst"), FORBIDDEN_PAIRS)
def test_it_refuses_every_other_move_and_leaves_the_card_alone(db, src, dst):
    card = make_card(status=src)

    with pytest.raises(ForbiddenTransition, match=f"from {src} to {dst}"):
        transition(card, dst)

    card.refresh_from_db()
    assert card.status == src
    assert not CardTransition.objects.filter(card=card).exists()


def test_it_refuses_when_someone_else_moved_the_card_first(db, hos):
    card = make_card(status=CardStatus.PENDING)
    stale_copy = PendingEmail.objects.get(pk=card.pk)
    transition(card, CardStatus.APPROVED, actor=hos)

    # The second reviewer still holds the pending copy: it must not overwrite.
    with pytest.raises(StateChanged, match="is now approved, not pending"):
        transition(stale_copy, CardStatus.REJECTED, actor=hos)

    card.refresh_from_db()
    assert card.status == CardStatus.APPROVED
    assert CardTransition.objects.filter(card=card).count() == 1


def test_it_writes_extra_fields_in_the_same_update(db):
    card = make_card(status=CardStatus.QUEUED)

    transition(card, CardStatus.FAILED, actor_label="worker", last_error="lead unsubscribed")

    card.refresh_from_db()
    assert card.last_error == "lead unsubscribed"
    assert CardTransition.objects.get(card=card).who == "worker"
