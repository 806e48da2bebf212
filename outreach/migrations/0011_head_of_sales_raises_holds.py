from __future__ import annotations

from django.db import migrations

from outreach.roles import sync_roles_migration


class Migration(migrations.Migration):
    """The Head of Sales may raise a hold (systemic copy failure) and see the holds; only an operator clears one."""

    dependencies = [
        ("outreach", "0010_roles_view_live_cycles"),
        ("ramp", "0005_stop_tests_and_hold_evidence"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
