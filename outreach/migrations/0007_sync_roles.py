from __future__ import annotations

from django.db import migrations

from outreach.roles import sync_roles_migration


class Migration(migrations.Migration):
    """Give the roles the views added since: suppression history, email events,
    webhook deliveries and queue traces."""

    dependencies = [
        ("outreach", "0006_card_review_queue_index"),
        ("compliance", "0002_suppression_history"),
        ("ramp", "0002_ramp_streak_kpis_and_queue_traces"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
