"""Give leads, address rules and opt-outs their mailbox key, and read stored identities again.

The key (compliance.identity.mailbox_key) is what opt-outs, do-not-contact and
duplicates compare from now on. Identities are read again from what was typed,
with IDNA 2008 (a ß domain was stored at its ss spelling before); two leads
that now reach one mailbox, or a lead a rule now matches, become identity
collisions a person resolves, and their open cards are held back until then
(compliance.collisions). The key column is added nullable, so SQLite adds it
in place instead of remaking the lead table (whose triggers, migration 0019,
would be lost).
"""

from django.db import migrations, models


def rekey(apps, schema_editor):
    from compliance.collisions import canonicalise_stored
    from compliance.identity import key_of

    DoNotContact = apps.get_model("compliance", "DoNotContact")
    report = canonicalise_stored(
        Lead=apps.get_model("outreach", "Lead"),
        DoNotContact=DoNotContact,
        ExcludedDomain=apps.get_model("compliance", "ExcludedDomain"),
        IdentityCollision=apps.get_model("compliance", "IdentityCollision"),
        PendingEmail=apps.get_model("outreach", "PendingEmail"),
        # Not handed to GHL yet, as the card statuses stood when this migration was written.
        stoppable_statuses=("pending", "approved", "queued"),
    )
    # After canonicalise_stored, which may rewrite or merge address rules.
    for pk, email in DoNotContact.objects.exclude(email__isnull=True).values_list("pk", "email"):
        DoNotContact.objects.filter(pk=pk).update(email_key=key_of(email))
    Suppression = apps.get_model("compliance", "Suppression")
    for pk, email in Suppression.objects.filter(email_key__isnull=True).values_list("pk", "email"):
        Suppression.objects.filter(pk=pk).update(email_key=key_of(email))
    if report.leads_rewritten or report.rules_rewritten or report.rules_merged or report.collisions:
        print("\n" + "\n".join(report.lines()))


class Migration(migrations.Migration):

    dependencies = [
        ("outreach", "0022_webhook_refusals_dropped"),
        ("compliance", "0006_mailbox_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="email_key",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=254, null=True),
        ),
        migrations.RunPython(rekey, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="webhookrefusal",
            name="reason",
            field=models.CharField(
                choices=[
                    ("signature", "Signature, freshness or form"),
                    ("location", "Not our location or app"),
                    ("shape", "Too large or nested too deep"),
                ],
                max_length=16,
            ),
        ),
    ]
