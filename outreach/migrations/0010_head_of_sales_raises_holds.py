from __future__ import annotations

from django.db import migrations


def sync(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from outreach.roles import sync_roles

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps)


class Migration(migrations.Migration):
    """The Head of Sales may raise a hold (systemic copy failure) and see the holds; only an operator clears one."""

    dependencies = [
        ("outreach", "0009_lead_identity_as_entered"),
        ("ramp", "0004_stop_tests_and_hold_evidence"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
