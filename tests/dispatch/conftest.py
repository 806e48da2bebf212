"""Fixtures of the dispatch tests: roles that survive transactional tests, and real
processes (GHL sandbox, RQ workers, a private Redis) for the end-to-end and fault tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _roles(db):
    """Recreate the role groups: transactional tests flush what data migrations created."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    from outreach.roles import ROLES, sync_roles

    if Group.objects.filter(name__in=list(ROLES)).count() != len(ROLES):
        sync_roles(apps)
