from __future__ import annotations

import pytest

from outreach.roles import OPERATOR
from tests.factories import make_user


@pytest.fixture(autouse=True)
def pto(request):
    """The operator these tests name with `by="pto"`: every ramp act names a real user with the permission."""
    if "django_db" not in {mark.name for mark in request.node.iter_markers()}:
        return None
    request.getfixturevalue("db")
    return make_user("pto", role=OPERATOR)
