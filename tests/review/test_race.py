"""Two reviewers decide one card at the same moment, in two real processes: one decision wins.

Marked `postgres` so bin/test runs it again on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import os

import pytest
from django.contrib.auth.models import User
from django.db import connection

from outreach.models import CardStatus, CardTransition, RejectionTag
from tests.factories import make_card

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _decide(card_pk: int, username: str, decision: str, start, results) -> None:
    import django
    from django.db import connections

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caio.settings")
    django.setup()
    connections.close_all()  # never share the parent's socket
    from outreach import review
    from outreach.models import PendingEmail

    card = PendingEmail.objects.get(pk=card_pk)
    user = User.objects.get(username=username)
    start.wait()
    try:
        if decision == "approve":
            review.approve(card, user=user)
        else:
            review.reject(card, user=user, tag="tone_brand")
        results.put(f"won:{decision}")
    except review.ReviewRefused as refused:
        results.put(f"refused:{refused.reason}")
    finally:
        connections.close_all()


def test_it_keeps_one_decision_and_tells_the_other_reviewer():
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("an in-memory SQLite database is not shared between processes")
    RejectionTag.objects.get_or_create(slug="tone_brand", defaults={"label": "Tone or brand"})
    for name in ("reviewer_a", "reviewer_b"):
        User.objects.create_superuser(name, password="pw-Secret-123")
    card = make_card()
    connection.close()

    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    results = context.Queue()
    processes = [
        context.Process(target=_decide, args=(card.pk, "reviewer_a", "approve", start, results)),
        context.Process(target=_decide, args=(card.pk, "reviewer_b", "reject", start, results)),
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    outcomes = sorted(results.get(timeout=5) for _ in processes)

    assert outcomes[0].startswith("refused:") and "someone else acted on it first" in outcomes[0]
    assert outcomes[1].startswith("won:")
    card.refresh_from_db()
    assert card.status == (CardStatus.APPROVED if outcomes[1] == "won:approve" else CardStatus.REJECTED)
    assert CardTransition.objects.filter(card=card).count() == 1
