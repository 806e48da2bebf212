from __future__ import annotations

from django.db import migrations

from outreach.roles import sync_roles_migration

TAGS = [
    ("queue_hygiene_non_actionable", "Queue hygiene: non-actionable", "Stale, canary or otherwise non-actionable card removed by cleanup.", True),
    ("malformed_body", "Malformed body", "Broken formatting, truncated or garbled text.", False),
    ("placeholder_text", "Placeholder text", "Unrendered placeholders such as {first_name} or [NAME].", False),
    ("campaign_mismatch", "Campaign mismatch", "The copy does not belong to this card's campaign.", False),
    ("wrong_tier", "Wrong tier", "The lead is not in a tier this campaign may contact.", False),
    ("wrong_person_company", "Wrong person or company", "Personalization names the wrong person or company.", False),
    ("weak_personalization", "Weak personalization", "Generic copy that could go to anyone.", False),
    ("tone_brand", "Tone or brand", "Off-brand tone, claims or wording.", False),
    ("compliance_failure", "Compliance failure", "Opt-out, footer, signature or suppression problem.", False),
    ("duplicate", "Duplicate", "This lead already has this email or was contacted recently.", False),
]


def seed(apps, schema_editor):
    RejectionTag = apps.get_model("outreach", "RejectionTag")
    for slug, label, description, system in TAGS:
        RejectionTag.objects.update_or_create(
            slug=slug, defaults={"label": label, "description": description, "system": system, "active": True}
        )
    sync_roles_migration(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0001_initial"),
        ("ramp", "0001_initial"),
        ("compliance", "0001_initial"),
        ("caio", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
