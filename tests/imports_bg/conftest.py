"""Fixtures of the import tests: roles that survive transactional tests, and real `rqworker` processes."""

from __future__ import annotations

import pytest

from tests.dispatch.conftest import ProcessEnv


@pytest.fixture(autouse=True)
def _roles(db):
    """Recreate the role groups: transactional tests flush what data migrations created."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    from outreach.roles import ROLES, sync_roles

    if Group.objects.filter(name__in=list(ROLES)).count() != len(ROLES):
        sync_roles(apps)


@pytest.fixture
def spawner(settings, tmp_path, redis_conn):
    """Start `manage.py` processes on this test's database and Redis; all stopped at the end."""
    spawned = ProcessEnv(settings, tmp_path)
    yield spawned
    spawned.stop_all()


def import_worker(spawner: ProcessEnv, *, burst: bool = False, **env: str):
    """An `rqworker` on the queue the demo's worker serves for imports, as the demo starts it."""
    from django.conf import settings

    args = ["rqworker", settings.LEAD_IMPORT_QUEUE, "--worker-ttl", "30"] + (["--burst"] if burst else [])
    return spawner.start(*args, name="import-worker", **env)
