"""The single place where a card's status changes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from outreach.models import CARD_INVARIANTS, CardStatus, CardTransition, PendingEmail


ALLOWED: dict[str, frozenset[str]] = {
    CardStatus.PENDING: frozenset({CardStatus.APPROVED, CardStatus.REJECTED}),
    CardStatus.APPROVED: frozenset({CardStatus.QUEUED, CardStatus.REJECTED, CardStatus.PENDING}),
    CardStatus.QUEUED: frozenset({CardStatus.SENDING, CardStatus.APPROVED, CardStatus.PENDING, CardStatus.FAILED}),
    CardStatus.SENDING: frozenset({CardStatus.SENT, CardStatus.FAILED, CardStatus.UNKNOWN, CardStatus.QUEUED}),
    CardStatus.UNKNOWN: frozenset({CardStatus.SENT, CardStatus.QUEUED, CardStatus.FAILED}),
    CardStatus.SENT: frozenset(),
    # Only `outreach.review.undo`, within seconds of the reviewer's own rejection.
    CardStatus.REJECTED: frozenset({CardStatus.PENDING}),
    CardStatus.FAILED: frozenset(),
}


# The from_status of the row that records a card's creation by drafting: the
# card came from no status. A card without such a row arrived by no product path.
DRAFTED = ""


def record_drafted(cards: list[PendingEmail], *, actor=None, actor_label: str, reason: str = "") -> None:
    """Write the row that records each new card's creation (drafting, redrafting, the cadence), with the card.

    Call it in the transaction that inserts the cards: `trace_queue` counts a
    card that arrived with this row as explained, one without it as drift.
    """
    CardTransition.objects.bulk_create(
        [
            CardTransition(
                card_id=card.pk,
                from_status=DRAFTED,
                to_status=card.status,
                actor=actor if getattr(actor, "pk", None) else None,
                actor_label=actor_label,
                reason=reason,
                created_at=card.created_at,
            )
            for card in cards
        ]
    )


class TransitionError(Exception):
    """Base for refused state changes."""


class ForbiddenTransition(TransitionError):
    """The move is not in the card's state machine."""

    def __init__(self, from_status: str, to_status: str) -> None:
        self.from_status, self.to_status = from_status, to_status
        super().__init__(f"A card cannot go from {from_status} to {to_status}.")


class StateChanged(TransitionError):
    """The card was no longer in the expected state: someone else acted first."""

    def __init__(self, card_pk: int, expected: str, actual: str | None) -> None:
        self.expected, self.actual = expected, actual
        if actual is None:
            message = f"Card {card_pk} no longer exists."
        else:
            message = f"Card {card_pk} is now {actual}, not {expected}: someone else acted on it first."
        super().__init__(message)


class ImpossibleState(TransitionError):
    """The move would leave the card in a state the product never makes (models.CARD_INVARIANTS)."""

    def __init__(self, card_pk: int, to_status: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"Card {card_pk} cannot become {to_status}: " + " ".join(problems))


def impossible_state_problems(card: PendingEmail) -> list[str]:
    """Return the invariants `card` (as it would be stored) breaks, in their own words; [] when none.

    Django's own constraint validation evaluates each CheckConstraint against the instance.
    """
    problems = []
    for constraint in PendingEmail._meta.constraints:
        if constraint.name in {name for name, _, _ in CARD_INVARIANTS}:
            try:
                constraint.validate(PendingEmail, card)
            except ValidationError as exc:
                problems.extend(exc.messages)
    return problems


def transition(
    card: PendingEmail,
    to_status: str,
    *,
    expected: str | None = None,
    actor=None,
    actor_label: str = "",
    reason: str = "",
    **fields: Any,
) -> PendingEmail:
    """Move `card` from `expected` (default: its in-memory status) to `to_status`.

    1. Refuse a move outside ALLOWED with ForbiddenTransition.
    2. In one transaction, UPDATE ... WHERE pk AND status = expected (with any
       extra `fields`); zero rows means someone else moved it: StateChanged.
    3. Write the CardTransition row in the same transaction.
    4. Return the card with its new values loaded.
    """
    from_status = expected or card.status
    if to_status not in ALLOWED.get(from_status, ()):
        raise ForbiddenTransition(from_status, to_status)

    now = timezone.now()
    try:
        with transaction.atomic():
            updated = PendingEmail.objects.filter(pk=card.pk, status=from_status).update(
                status=to_status, updated_at=now, **fields
            )
            if updated != 1:
                actual = PendingEmail.objects.filter(pk=card.pk).values_list("status", flat=True).first()
                raise StateChanged(card.pk, from_status, actual)
            CardTransition.objects.create(
                card_id=card.pk,
                from_status=from_status,
                to_status=to_status,
                actor=actor if getattr(actor, "pk", None) else None,
                actor_label=actor_label,
                reason=reason,
                created_at=now,
            )
    except IntegrityError as exc:
        # The database refused the row (CARD_INVARIANTS, or another constraint):
        # say which invariant in words, reading the card as the move would leave it.
        problems = _problems_after(card.pk, to_status, fields)
        if problems:
            raise ImpossibleState(card.pk, to_status, problems) from exc
        raise
    card.status = to_status
    card.updated_at = now
    expressions = [name for name, value in fields.items() if hasattr(value, "resolve_expression")]
    for name, value in fields.items():
        if name not in expressions:
            setattr(card, name, value)
    if expressions:
        card.refresh_from_db(fields=expressions)
    return card


def _problems_after(card_pk: int, to_status: str, fields: dict[str, Any]) -> list[str]:
    """Return the invariants the stored card would break after a move to `to_status` with `fields`."""
    candidate = PendingEmail.objects.filter(pk=card_pk).first()
    if candidate is None:
        return []
    candidate.status = to_status
    for name, value in fields.items():
        if not hasattr(value, "resolve_expression"):
            setattr(candidate, name, value)
    return impossible_state_problems(candidate)
