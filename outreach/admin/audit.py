from __future__ import annotations

from django.contrib import admin
from import_export.admin import ExportMixin

from caio.admin import ReadOnlyAdmin
from compliance.spreadsheet import SafeExportMixin
from outreach.models import CardTransition, DispatchAttempt, EmailEvent, RejectionTag, WebhookDelivery
from outreach.resources import CardTransitionResource, EmailEventResource


@admin.register(RejectionTag)
class RejectionTagAdmin(admin.ModelAdmin):
    list_display = ["label", "slug", "active", "system"]
    list_filter = ["active", "system"]


@admin.register(CardTransition)
class CardTransitionAdmin(SafeExportMixin, ExportMixin, ReadOnlyAdmin):
    resource_classes = [CardTransitionResource]
    list_display = ["created_at", "card", "from_status", "to_status", "who", "reason"]
    list_filter = ["to_status"]
    list_select_related = ["card", "card__lead", "actor"]


@admin.register(DispatchAttempt)
class DispatchAttemptAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "card", "outcome", "http_status", "error", "worker"]
    list_filter = ["outcome"]
    list_select_related = ["card", "card__lead"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "event_type", "dedupe_key", "processed_at", "outcome", "error"]
    list_filter = ["event_type"]
    search_fields = ["dedupe_key", "webhook_id"]


@admin.register(EmailEvent)
class EmailEventAdmin(SafeExportMixin, ExportMixin, ReadOnlyAdmin):
    resource_classes = [EmailEventResource]
    list_display = ["occurred_at", "kind", "lead", "card"]
    list_filter = ["kind"]
    list_select_related = ["lead", "card"]
    raw_id_fields = ["lead", "card"]
