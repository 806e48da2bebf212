"""Two live cycles started at once, in two processes, never exceed the day's cap.

Marked `postgres`: bin/test runs it again on PostgreSQL, where the RampDay row
lock (not SQLite's database write lock) is what serializes the two claims.
"""

from __future__ import annotations

import json

import pytest

from outreach.models import CardStatus, CardTransition, PendingEmail
from ramp.days import operating_date
from ramp.models import RampDay
from tests.dispatch.helpers import approved_card, green_gates

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow, pytest.mark.postgres]


@pytest.mark.parametrize("run", range(2))
def test_two_live_cycles_at_once_never_exceed_the_cap(operator, spawner, run):
    green_gates(daily_cap=5, per_company_daily_cap=1)
    for _ in range(12):
        approved_card()
    from django.db import connections

    connections.close_all()  # the children must not wait on a connection of ours

    command = ("dispatch", "--live", "--operator", "operator", "--noinput", "--json")
    children = [spawner.start(*command, name=f"cycle{n}") for n in range(2)]
    for child in children:
        child.wait(timeout=90)

    claimed = 0
    for child in children:
        output = spawner.output(child)
        if child.returncode == 0:
            claimed += len(json.loads(output[output.index("{"):])["claimed"])
        else:
            # The loser may find the cap used up: a refusal, never an overrun.
            assert "cap of 5 is used" in output, output
    assert claimed == 5
    assert PendingEmail.objects.filter(status=CardStatus.QUEUED).count() == 5
    assert CardTransition.objects.filter(to_status="queued").count() == 5
    assert RampDay.objects.get(date=operating_date()).dispatched_count == 5

    import django_rq

    assert len(django_rq.get_queue("dispatch").job_ids) == 5


def _cycle_in_child(operator_pk: int, start, results) -> None:
    import django
    from django.db import connections

    django.setup()
    connections.close_all()  # never share the parent's socket
    from django.contrib.auth.models import User

    from outreach.sending.gates import DispatchRefused
    from outreach.sending.select import start_live_cycle

    operator = User.objects.get(pk=operator_pk)
    start.wait()
    try:
        results.put(len(start_live_cycle(operator=operator).claimed))
    except DispatchRefused as exc:
        results.put(" ".join(exc.reasons))
    except Exception as exc:  # report, never hang the parent
        results.put(f"error: {exc!r}")
    finally:
        connections.close_all()


def test_two_cycles_released_by_one_barrier_never_exceed_the_cap(operator, redis_conn):
    import multiprocessing

    from django.db import connection

    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("an in-memory SQLite database is not shared between processes")
    green_gates(daily_cap=4, per_company_daily_cap=1)
    for _ in range(10):
        approved_card()
    connection.close()

    context = multiprocessing.get_context("fork")
    start = context.Barrier(3)
    results = context.Queue()
    children = [context.Process(target=_cycle_in_child, args=(operator.pk, start, results)) for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
    outcomes = [results.get(timeout=5) for _ in children]

    claimed = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if not isinstance(o, int)]
    assert sum(claimed) == 4, outcomes
    assert all("cap of 4 is used" in o for o in refused), outcomes
    assert RampDay.objects.get(date=operating_date()).dispatched_count == 4
    assert PendingEmail.objects.filter(status=CardStatus.QUEUED).count() == 4
