"""Rewrite stored leads and rules to their canonical identity; record what that reveals.

Collisions become compliance.IdentityCollision rows a person resolves in the
admin, and their leads' open cards fail compliance.C019 until then (see
compliance.collisions). Not reversible in data: the canonical forms stay.
"""

from __future__ import annotations

from django.db import migrations

from outreach.roles import sync_roles_migration


def canonicalise(apps, schema_editor):
    from compliance.collisions import canonicalise_stored

    report = canonicalise_stored(
        Lead=apps.get_model("outreach", "Lead"),
        DoNotContact=apps.get_model("compliance", "DoNotContact"),
        ExcludedDomain=apps.get_model("compliance", "ExcludedDomain"),
        IdentityCollision=apps.get_model("compliance", "IdentityCollision"),
        PendingEmail=apps.get_model("outreach", "PendingEmail"),
        # Not handed to GHL yet, as the card statuses stood when this migration was written.
        stoppable_statuses=("pending", "approved", "queued"),
    )
    if report.leads_rewritten or report.rules_rewritten or report.rules_merged or report.collisions:
        print("\n" + "\n".join(report.lines()))


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0003_canonical_identities"),
        ("outreach", "0009_lead_identity_as_entered"),
    ]

    operations = [
        migrations.RunPython(canonicalise, migrations.RunPython.noop),
        migrations.RunPython(sync_roles_migration, migrations.RunPython.noop),
    ]
