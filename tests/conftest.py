from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from caio.redis import get_connection
from outreach.roles import HEAD_OF_SALES, OPERATOR
from tests.factories import make_user
from tests.ghl.fixtures import ghl_sandbox, ghl_sandbox_process, ghl_sandbox_server_process, webhook_receiver  # noqa: F401


# Marks that follow from what a test uses, wherever it lives: a test that drives
# Chromium is a browser test, one that starts real processes is slow. `bin/test
# --fast` leaves both out.
BROWSER_FIXTURES = frozenset({"browser", "page"})
PROCESS_FIXTURES = frozenset({"spawner", "processes", "ghl_sandbox_process", "ghl_sandbox_server_process", "private_redis"})


def pytest_collection_modifyitems(items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if used & PROCESS_FIXTURES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True, scope="session")
def fast_password_hasher():
    """MD5 instead of PBKDF2 while testing: PBKDF2 is slow on purpose, and every user a test makes pays for it.

    Only this process: manage.py subprocesses started by tests keep the real hasher.
    """
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def hos(db):
    """A Head of Sales: reviews cards."""
    return make_user("hos", role=HEAD_OF_SALES)


@pytest.fixture
def operator(db):
    """An operator: go/no-go owner, may run live cycles."""
    return make_user("operator", role=OPERATOR)


@pytest.fixture
def outsider(db):
    """Staff with no role."""
    return make_user("outsider")


@pytest.fixture
def redis_conn():
    """The test Redis (started by bin/test), flushed before and after."""
    connection = get_connection()
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data (`seed_demo`), seeded once for a module inside a transaction rolled back at its end.

    For tests that only read the demo. Each test's own transaction nests inside
    this one (a savepoint), so no test sees another's writes, and nothing
    outlives the module. Transactional tests cannot use it: their flush would empty it.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", verbosity=0)
        yield
        transaction.set_rollback(True)
