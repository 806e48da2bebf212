from __future__ import annotations

from django.db import migrations

from outreach.roles import sync_roles_migration


class Migration(migrations.Migration):
    """The Head of Sales signs off the quality rubric and rejection tags and confirms copy quality; both roles read and write the rubric."""

    dependencies = [
        ("outreach", "0014_campaign_sender_name_one_line"),
        ("ramp", "0006_quality_rubric_and_signoffs"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
