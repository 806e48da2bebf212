from __future__ import annotations

from django.contrib import admin

from outreach.models import CardTransition, PendingEmail


class CardTransitionInline(admin.TabularInline):
    model = CardTransition
    extra = 0
    can_delete = False
    fields = ["created_at", "from_status", "to_status", "actor", "actor_label", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PendingEmail)
class PendingEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "lead", "status", "classifier", "campaign_ref", "route", "created_at"]
    list_filter = ["status", "classifier", "route", "is_canary", "is_shadow"]
    list_select_related = ["lead"]
    search_fields = ["lead__email", "lead__first_name", "lead__last_name", "lead__company", "subject"]
    raw_id_fields = ["lead", "enrollment"]
    readonly_fields = [
        "status", "code", "idempotency_key", "compliance", "compliance_passed", "reviewed_by", "reviewed_at",
        "approved_content_hash", "dispatch_attempts", "queued_at", "sent_at", "ghl_contact_id",
        "ghl_conversation_id", "ghl_message_id", "ghl_email_message_id", "last_error",
    ]
    inlines = [CardTransitionInline]
