from __future__ import annotations

from django.db import migrations

from outreach.roles import sync_roles_migration


class Migration(migrations.Migration):
    """An operator proposes a ramp policy change that widens sending; the Head of Sales approves it."""

    dependencies = [
        ("outreach", "0019_lead_domain_forms"),
        ("ramp", "0007_ramp_policy_changes_two_persons"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
