from __future__ import annotations

from django.db import migrations


def sync(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from outreach.roles import sync_roles

    # The live cycle record is a new model: its permissions may not exist yet on a new database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps)


class Migration(migrations.Migration):
    """Let operators read the live cycles' record."""

    dependencies = [
        ("outreach", "0009_lead_identity_as_entered"),
        ("ramp", "0004_live_cycle_record"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
