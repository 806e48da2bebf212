from __future__ import annotations

import pytest
from django.test import override_settings

from outreach.roles import HEAD_OF_SALES, OPERATOR
from tests.factories import make_user
from tests.ghl.fixtures import ghl_sandbox, ghl_sandbox_process, ghl_sandbox_server_process, webhook_receiver  # noqa: F401


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
    from caio.redis import get_connection

    connection = get_connection()
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()
