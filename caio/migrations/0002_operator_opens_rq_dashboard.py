from __future__ import annotations

from django.db import migrations

from outreach.roles import sync_roles_migration


class Migration(migrations.Migration):
    """Give the Operator role django-rq's dashboard permission (Heads of Sales no longer see it)."""

    dependencies = [
        ("caio", "0001_initial"),
        ("outreach", "0007_sync_roles"),
        ("django_rq", "0003_alter_dashboard_permission_names"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
