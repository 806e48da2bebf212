"""The approval binds the whole send; four eyes read the whole history; card invariants in the database.

Existing rows are brought to what the constraints require before they are added:

* approved and queued cards go back to pending: their approvals hashed the
  words only, and cannot say which recipient, contact, sender and step the
  reviewer saw. A queued card's claim stays counted on its day (fewer sends,
  never more).
* a rejected card without a tag gets the system tag "untagged_legacy".
* a sent card without a sent time takes the time of its move to sent; one
  without GHL's message id becomes unknown, for reconcile to read GHL.
* a sending or sent card without a reviewer takes the person who approved it
  in its history; a sending card that still has none becomes unknown. A sent
  card with neither a recorded reviewer nor an approval hash stops the
  migration, naming the cards: a person must decide about them.
* each card's last editor is recorded as having written its text (CardEdit).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


REASON = "The approval now covers recipient, GHL contact, sender, text and step: review again."


def bring_cards_to_the_invariants(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # Rows changed here must not leave deferred checks behind the ALTER TABLEs that follow.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    PendingEmail = apps.get_model("outreach", "PendingEmail")
    CardTransition = apps.get_model("outreach", "CardTransition")
    CardEdit = apps.get_model("outreach", "CardEdit")
    RejectionTag = apps.get_model("outreach", "RejectionTag")
    now = django.utils.timezone.now()

    def move(cards, to_status, reason, **fields):
        for card in cards:
            CardTransition.objects.create(
                card_id=card.pk, from_status=card.status, to_status=to_status, actor_label="migration", reason=reason, created_at=now
            )
            PendingEmail.objects.filter(pk=card.pk).update(status=to_status, updated_at=now, **fields)

    move(
        PendingEmail.objects.filter(status__in=["approved", "queued"]),
        "pending",
        REASON,
        approved_content_hash="", reviewed_by=None, reviewed_at=None, queued_at=None,
    )

    untagged = PendingEmail.objects.filter(status="rejected", rejection_tag__isnull=True)
    if untagged.exists():
        tag, _ = RejectionTag.objects.get_or_create(
            slug="untagged_legacy",
            defaults={"label": "Rejected before tags were required", "system": True, "active": False},
        )
        untagged.update(rejection_tag=tag)

    for card in PendingEmail.objects.filter(status="sent", sent_at__isnull=True):
        moved = CardTransition.objects.filter(card_id=card.pk, to_status="sent").order_by("-created_at").first()
        PendingEmail.objects.filter(pk=card.pk).update(sent_at=moved.created_at if moved else card.updated_at)
    move(
        PendingEmail.objects.filter(status="sent", ghl_message_id=""),
        "unknown",
        "No GHL message id was recorded with the send: reconcile reads GHL.",
        last_error="No GHL message id recorded with the send.",
    )

    for card in PendingEmail.objects.filter(status__in=["sending", "sent"], reviewed_by__isnull=True):
        approval = (
            CardTransition.objects.filter(card_id=card.pk, to_status="approved", actor__isnull=False).order_by("-created_at").first()
        )
        if approval is not None:
            PendingEmail.objects.filter(pk=card.pk).update(reviewed_by_id=approval.actor_id)
    move(
        PendingEmail.objects.filter(status="sending").filter(
            models.Q(reviewed_by__isnull=True) | models.Q(approved_content_hash="")
        ),
        "unknown",
        "No reviewer or approval recorded: reconcile reads GHL.",
        last_error="No reviewer or approval recorded.",
    )
    orphans = list(
        PendingEmail.objects.filter(status="sent")
        .filter(models.Q(reviewed_by__isnull=True) | models.Q(approved_content_hash=""))
        .values_list("pk", flat=True)
    )
    if orphans:
        raise RuntimeError(
            "Sent cards without a recorded reviewer or approval hash: "
            + ", ".join(map(str, orphans))
            + ". Record who approved them (reviewed_by, approved_content_hash) before migrating."
        )

    CardEdit.objects.bulk_create(
        CardEdit(card_id=card_id, part="text", author_id=author_id, created_at=edited_at or updated_at)
        for card_id, author_id, edited_at, updated_at in PendingEmail.objects.filter(last_edited_by__isnull=False).values_list(
            "pk", "last_edited_by_id", "edited_at", "updated_at"
        )
    )


class Migration(migrations.Migration):

    dependencies = [
        ('outreach', '0019_lead_domain_forms'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CardEdit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('part', models.CharField(choices=[('subject', 'the subject'), ('body', 'the body'), ('text', 'the text')], max_length=16)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['created_at', 'id'],
                'default_permissions': (),
            },
        ),
        migrations.AddField(
            model_name='pendingemail',
            name='approved_parts',
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.AlterField(
            model_name='pendingemail',
            name='reviewed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='cardedit',
            name='author',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='cardedit',
            name='card',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='edits', to='outreach.pendingemail'),
        ),
        migrations.RunPython(bring_cards_to_the_invariants, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='pendingemail',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'rejected'), _negated=True), ('rejection_tag__isnull', False), _connector='OR'), name='rejected_card_has_tag', violation_error_message='A rejected card carries the rejection tag saying why.'),
        ),
        migrations.AddConstraint(
            model_name='pendingemail',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'sent'), _negated=True), models.Q(('sent_at__isnull', False), models.Q(('ghl_message_id', ''), _negated=True)), _connector='OR'), name='sent_card_has_time_and_message', violation_error_message="A sent card carries when it was sent and GHL's message id."),
        ),
        migrations.AddConstraint(
            model_name='pendingemail',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ['approved', 'queued', 'sending', 'sent']), _negated=True), models.Q(('reviewed_by__isnull', False), models.Q(('approved_content_hash', ''), _negated=True)), _connector='OR'), name='approved_card_has_reviewer_and_hash', violation_error_message='An approved, queued, sending or sent card names its reviewer and the hash of what was approved.'),
        ),
    ]
