from __future__ import annotations

from django.db import migrations

from outreach.roles import sync_roles_migration


class Migration(migrations.Migration):
    """Let operators read the live cycles' record."""

    dependencies = [
        ("outreach", "0009_lead_identity_as_entered"),
        ("ramp", "0004_live_cycle_record"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
