from __future__ import annotations

from django.db import migrations

from outreach.roles import sync_roles_migration


class Migration(migrations.Migration):
    """The Head of Sales issues her own personal token in the admin (the ramp commands that record her acts take it),
    and reads the daily report on the ramp day's page."""

    dependencies = [
        ("outreach", "0025_model_drafter"),
        ("caio", "0003_deploys_gate_runs_and_personal_tokens"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
