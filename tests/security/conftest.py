from __future__ import annotations

import pytest
from django.test import Client

from outreach.roles import HEAD_OF_SALES, OPERATOR
from tests.factories import make_user


@pytest.fixture
def role_clients(db) -> dict[str, Client]:
    """One logged-in client per kind of user (and one anonymous), none raising on a 500."""
    users = {
        "staff": make_user("matrix-staff"),
        "hos": make_user("matrix-hos", role=HEAD_OF_SALES),
        "operator": make_user("matrix-operator", role=OPERATOR),
        "super": make_user("matrix-super", superuser=True),
    }
    clients = {"anon": Client(raise_request_exception=False)}
    for role, user in users.items():
        clients[role] = Client(raise_request_exception=False)
        clients[role].force_login(user)
    return clients
