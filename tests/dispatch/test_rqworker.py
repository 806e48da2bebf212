"""Our `rqworker`: one clear line when Redis is down; dispatch jobs run in-process."""

from __future__ import annotations

from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import override_settings


def test_it_stops_with_one_line_naming_redis_url_when_redis_is_down():
    err = StringIO()
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"), pytest.raises(SystemExit) as stopped:
        call_command("rqworker", "dispatch", "--burst", stderr=err)
    assert stopped.value.code == 1
    assert err.getvalue().strip().splitlines() == [
        err.getvalue().strip()
    ] and "Redis is not reachable at REDIS_URL=redis://127.0.0.1:1/0" in err.getvalue()


@pytest.mark.redis
@pytest.mark.parametrize(
    ("queues", "given", "expected"),
    [
        (["dispatch"], None, "rq.worker.SimpleWorker"),
        (["dispatch"], "rq.worker.Worker", "rq.worker.Worker"),
        (["default", "dispatch"], None, None),
    ],
)
def test_a_dispatch_worker_runs_jobs_in_process_unless_told_otherwise(redis_conn, queues, given, expected):
    with mock.patch("django_rq.management.commands.rqworker.Command.handle", autospec=True, return_value=None) as parent:
        args = [*queues] + (["--worker-class", given] if given else [])
        call_command("rqworker", *args)
    assert parent.call_args.kwargs["worker_class"] == expected
