"""Look-alike domains on leads: the warning, and who confirmed the lead and when.

Stored leads with a punycode domain are read once here (compliance.lookalikes),
so one already stored at a look-alike domain has its cards held back until a
person confirms it. The columns are nullable, so SQLite adds them in place and
the lead table's triggers (migration 0019) stay.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def mark_lookalikes(apps, schema_editor):
    from django.db.models import Q

    from compliance.lookalikes import lead_lookalike

    Lead = apps.get_model("outreach", "Lead")
    for lead in Lead.objects.filter(Q(domain__contains="xn--") | Q(email__contains="xn--")).only("pk", "domain", "email"):
        warning = lead_lookalike(lead.domain, lead.email.rpartition("@")[2], lead_pk=lead.pk, apps=apps)
        if warning:
            Lead.objects.filter(pk=lead.pk).update(lookalike=warning)


class Migration(migrations.Migration):

    dependencies = [
        ('outreach', '0023_lead_mailbox_key'),
        ('compliance', '0006_mailbox_keys'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='lead',
            name='lookalike',
            field=models.CharField(blank=True, editable=False, max_length=500, null=True),
        ),
        migrations.AddField(
            model_name='lead',
            name='lookalike_confirmed_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='lead',
            name='lookalike_confirmed_by',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(mark_lookalikes, migrations.RunPython.noop),
    ]
