from __future__ import annotations

from django.db import migrations


def sync(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from outreach.roles import sync_roles

    # The permissions of models added since 0002 may not exist yet on a new database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps)


class Migration(migrations.Migration):
    """Give the roles the views added since: suppression history, email events,
    webhook deliveries and queue traces."""

    dependencies = [
        ("outreach", "0006_card_review_queue_index"),
        ("compliance", "0002_suppression_history"),
        ("ramp", "0002_ramp_streak_kpis_and_queue_traces"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
