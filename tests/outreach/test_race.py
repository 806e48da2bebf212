"""Two real processes race for the same card: exactly one wins.

Marked `postgres` so bin/test runs it again on PostgreSQL; on SQLite it runs
against the file database of a transactional test.
"""

from __future__ import annotations

import multiprocessing
import os

import pytest
from django.db import connection

from outreach.models import CardStatus, CardTransition
from outreach.approval import approval_record
from tests.factories import make_card, reviewer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(card_pk: int, to_status: str, fields: dict, start, results) -> None:
    import django
    from django.db import connections

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caio.settings")
    django.setup()
    connections.close_all()  # never share the parent's socket
    from outreach.models import PendingEmail
    from outreach.transitions import TransitionError, transition

    card = PendingEmail.objects.get(pk=card_pk)
    start.wait()
    try:
        transition(card, to_status, actor_label=f"process-{os.getpid()}", **fields)
        results.put("won")
    except TransitionError as exc:
        results.put(f"lost: {exc}")
    finally:
        connections.close_all()


@pytest.mark.parametrize(
    ("start_status", "to_status"),
    [(CardStatus.PENDING, CardStatus.APPROVED), (CardStatus.APPROVED, CardStatus.QUEUED)],
    ids=["approve", "claim"],
)
def test_it_lets_exactly_one_process_win(start_status, to_status):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("an in-memory SQLite database is not shared between processes")
    card = make_card(status=start_status)
    # An approval stores its reviewer and what was approved (a database constraint).
    fields = {"reviewed_by_id": reviewer().pk, **approval_record(card)} if to_status == CardStatus.APPROVED else {}
    connection.close()

    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    results = context.Queue()
    processes = [context.Process(target=_race, args=(card.pk, to_status, fields, start, results)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    outcomes = sorted(results.get(timeout=5) for _ in processes)

    assert outcomes[0].startswith("lost:") and "someone else acted on it first" in outcomes[0]
    assert outcomes[1] == "won"
    card.refresh_from_db()
    assert card.status == to_status
    assert CardTransition.objects.filter(card=card).count() == 1
