"""Every registered model has a working admin for a superuser."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from tests.factories import make_user

# Models the demo leaves without rows (their changelist is still served, just empty).
EMPTY_IN_THE_DEMO = {
    "caio.ApiToken", "outreach.DispatchAttempt", "outreach.WebhookDelivery", "outreach.EmailEvent",
    "compliance.Suppression", "ramp.Hold", "ramp.PreflightRun", "ramp.QueueTrace",
}
MODELS = [model for model in admin.site._registry if model._meta.app_label in {"caio", "outreach", "compliance", "ramp", "ghl"}]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data, seeded once for the module inside a transaction rolled back at its end.

    Each test's own transaction nests inside it (a savepoint), so the tests
    that read the demo never see each other's writes, and nothing outlives the module.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_it_serves_the_changelist(demo, db, client, model):
    # The demo gives every changelist rows to render, so a broken column shows.
    assert model.objects.exists() or model._meta.proxy or model._meta.label in EMPTY_IN_THE_DEMO, model._meta.label
    client.force_login(make_user(superuser=True))

    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = client.get(url)

    assert response.status_code == 200, url


def _our_models():
    from django.apps import apps

    return {m for app in ("caio", "outreach", "compliance", "ramp") for m in apps.get_app_config(app).get_models()}


def test_it_covers_every_model_of_our_apps():
    # A model is covered by its own admin or as an inline of one (cadence steps live in their campaign).
    inlined = {inline.model for model_admin in admin.site._registry.values() for inline in model_admin.inlines}
    covered = set(admin.site._registry) | inlined
    assert _our_models() <= covered, _our_models() - covered


def test_the_operator_can_view_every_admin_page_of_ours(db, operator):
    missing = [
        model._meta.label
        for model in MODELS
        if model._meta.default_permissions and not operator.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
    ]
    assert missing == []


def test_the_role_groups_hold_exactly_their_permissions_after_migrations(db):
    from django.contrib.auth.models import Group

    from outreach.roles import ROLES

    for name, wanted in ROLES.items():
        held = set(Group.objects.get(name=name).permissions.values_list("content_type__app_label", "codename"))
        # A role permission missing here means a migration added a model without syncing the roles.
        assert held == set(wanted), name
