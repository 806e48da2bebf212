"""Every registered model has a working admin for a superuser."""

from __future__ import annotations

from django.contrib import admin

MODELS = [model for model in admin.site._registry if model._meta.app_label in {"caio", "outreach", "compliance", "ramp", "ghl"}]


def _our_models():
    from django.apps import apps

    # A model without permissions is written only by the database (outreach.LeadDomainForm): no page to cover.
    return {
        m
        for app in ("caio", "outreach", "compliance", "ramp")
        for m in apps.get_app_config(app).get_models()
        if m._meta.default_permissions
    }


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


def test_every_date_time_the_admin_shows_names_its_zone(admin_client):
    # The admin shows UTC while the operating day follows OPERATING_TIMEZONE: a bare "4 p.m." misleads.
    import datetime as dt

    from caio.models import Deployment

    Deployment.objects.create(version="src-0123456789ab", started_at=dt.datetime(2026, 3, 4, 16, 5, tzinfo=dt.timezone.utc))

    page = admin_client.get("/admin/caio/deployment/").content.decode()

    assert "March 4, 2026, 4:05 p.m. UTC" in page
