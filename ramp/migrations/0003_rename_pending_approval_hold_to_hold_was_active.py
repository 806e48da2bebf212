from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    """The flag never meant "pending approval": it records that a hold was active during the day."""

    dependencies = [
        ("ramp", "0002_ramp_streak_kpis_and_queue_traces"),
    ]

    operations = [
        migrations.RenameField(model_name="rampday", old_name="pending_approval_hold", new_name="hold_was_active"),
    ]
