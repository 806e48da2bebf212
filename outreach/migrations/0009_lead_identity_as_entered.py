from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('outreach', '0008_webhook_refusals_quarantine_and_replies'),
    ]

    operations = [
        migrations.AddField(
            model_name='lead',
            name='domain_as_entered',
            field=models.CharField(blank=True, help_text='The company domain as typed or imported.', max_length=2048),
        ),
        migrations.AddField(
            model_name='lead',
            name='email_as_entered',
            field=models.CharField(blank=True, help_text='The address as typed or imported.', max_length=320),
        ),
        migrations.AlterField(
            model_name='lead',
            name='domain',
            field=models.CharField(blank=True, db_index=True, help_text="Company domain, canonical; the address's domain when none is given.", max_length=253),
        ),
        migrations.AlterField(
            model_name='lead',
            name='email',
            field=models.EmailField(help_text='Canonical form (compliance.identity.canonical_email); unique.', max_length=254, unique=True),
        ),
    ]
