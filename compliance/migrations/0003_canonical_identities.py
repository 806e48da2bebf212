from __future__ import annotations

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('compliance', '0002_suppression_history'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='IdentityCollision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('duplicate', 'Same canonical address as another lead'), ('matches_rule', 'Matches a suppression rule only in canonical form'), ('refused', 'Stored address or domain refused by the canonical form')], max_length=16)),
                ('lead_id', models.BigIntegerField(db_index=True, help_text='The lead that needs a decision.')),
                ('other_lead_id', models.BigIntegerField(blank=True, db_index=True, help_text='For a duplicate: the lead that already holds the canonical address.', null=True)),
                ('stored_value', models.CharField(help_text="The lead's address (or domain) as stored.", max_length=2048)),
                ('canonical_value', models.CharField(blank=True, max_length=2048)),
                ('detail', models.TextField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('resolved_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                ('resolution_note', models.TextField(blank=True, help_text='What was decided and done, e.g. “merged into lead 12; deleted”.')),
            ],
            options={
                'ordering': ['resolved_at', '-created_at'],
            },
        ),
        migrations.AlterModelOptions(
            name='donotcontact',
            options={'ordering': ['email', 'domain'], 'verbose_name': 'do-not-contact entry', 'verbose_name_plural': 'do-not-contact list'},
        ),
        migrations.AddField(
            model_name='donotcontact',
            name='as_entered',
            field=models.CharField(blank=True, help_text='The entry as typed or imported.', max_length=2048),
        ),
        migrations.AddField(
            model_name='donotcontact',
            name='domain',
            field=models.CharField(blank=True, help_text='Canonical domain (whole-domain entries).', max_length=253),
        ),
        migrations.AddField(
            model_name='excludeddomain',
            name='domain_as_entered',
            field=models.CharField(blank=True, help_text='The domain as typed or imported.', max_length=2048),
        ),
        migrations.AlterField(
            model_name='donotcontact',
            name='email',
            field=models.EmailField(blank=True, help_text='Canonical address (address entries).', max_length=254, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name='excludeddomain',
            name='domain',
            field=models.CharField(help_text='Canonical form (compliance.identity.canonical_domain).', max_length=253, unique=True),
        ),
        migrations.AddConstraint(
            model_name='donotcontact',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('email__isnull', False), ('domain', '')), models.Q(('email__isnull', True), models.Q(('domain', ''), _negated=True)), _connector='OR'), name='do_not_contact_address_or_domain'),
        ),
        migrations.AddConstraint(
            model_name='donotcontact',
            constraint=models.UniqueConstraint(condition=models.Q(('email__isnull', True)), fields=('domain',), name='unique_do_not_contact_domain'),
        ),
        migrations.AddField(
            model_name='identitycollision',
            name='resolved_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
    ]
