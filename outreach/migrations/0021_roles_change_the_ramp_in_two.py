from __future__ import annotations

from django.db import migrations

from outreach.roles import sync_roles_migration


class Migration(migrations.Migration):
    """An operator proposes a ramp policy change that widens sending; the Head of Sales approves it."""

    dependencies = [
        ("outreach", "0020_approval_binds_the_send"),
        ("ramp", "0008_ramp_policy_changes_two_persons"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
