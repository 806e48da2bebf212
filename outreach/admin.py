"""Admin for leads, campaigns and cards (basic; the review desk builds on it)."""

from __future__ import annotations

from django.contrib import admin

from outreach.models import (
    CadenceStep,
    Campaign,
    CardTransition,
    DispatchAttempt,
    Enrollment,
    Lead,
    PendingEmail,
    RejectionTag,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit rows are written by the system only."""

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "company", "tier", "source", "do_not_contact", "unsubscribed_at", "bounced_at"]
    list_filter = ["tier", "source", "do_not_contact"]
    search_fields = ["email", "first_name", "last_name", "company", "domain"]


class CadenceStepInline(admin.TabularInline):
    model = CadenceStep
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "ref", "tier", "classifier", "route", "is_active"]
    inlines = [CadenceStepInline]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["lead", "campaign", "status", "current_step", "next_due_at", "stop_reason"]
    list_filter = ["status", "campaign"]
    list_select_related = ["lead", "campaign"]
    raw_id_fields = ["lead"]


@admin.register(RejectionTag)
class RejectionTagAdmin(admin.ModelAdmin):
    list_display = ["label", "slug", "active", "system"]
    list_filter = ["active", "system"]


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


@admin.register(CardTransition)
class CardTransitionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "card", "from_status", "to_status", "who", "reason"]
    list_filter = ["to_status"]
    list_select_related = ["card", "card__lead", "actor"]


@admin.register(DispatchAttempt)
class DispatchAttemptAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "card", "outcome", "http_status", "error", "worker"]
    list_filter = ["outcome"]
    list_select_related = ["card", "card__lead"]
