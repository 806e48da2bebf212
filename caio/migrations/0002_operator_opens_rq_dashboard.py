from __future__ import annotations

from django.db import migrations


def sync(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from outreach.roles import sync_roles

    # django-rq's permission is made by post_migrate, after this runs on a new database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps)


class Migration(migrations.Migration):
    """Give the Operator role django-rq's dashboard permission (Heads of Sales no longer see it)."""

    dependencies = [
        ("caio", "0001_initial"),
        ("outreach", "0007_sync_roles"),
        ("django_rq", "0003_alter_dashboard_permission_names"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
