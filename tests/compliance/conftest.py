"""A small open queue for the rule tests: cards built through the real pipeline and review."""

from __future__ import annotations

import pytest

from tests.compliance.rule_admin import build_queue


@pytest.fixture
def queue(hos):
    return build_queue(reviewer=hos)
