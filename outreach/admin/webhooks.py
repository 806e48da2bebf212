"""Admin for what GHL tells us: webhook deliveries (with the quarantine), refusals, email events and replies.

All read-only: these rows are written by the webhook receiver only.
"""

from __future__ import annotations

from django.contrib import admin
from import_export.admin import ExportMixin

from caio.admin import ReadOnlyAdmin
from compliance.spreadsheet import SafeExportMixin

from outreach.models import EmailEvent, Reply, WebhookDelivery, WebhookRefusal
from outreach.resources import EmailEventResource
from outreach.webhooks import webhook_figures


class DeliveryStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("applied", "Applied"), ("waiting", "Waiting for a retry"), ("quarantined", "Quarantined")]

    def queryset(self, request, queryset):
        if self.value() == "applied":
            return queryset.filter(processed_at__isnull=False)
        if self.value() == "waiting":
            return queryset.filter(processed_at__isnull=True, quarantined_at__isnull=True)
        if self.value() == "quarantined":
            return queryset.filter(processed_at__isnull=True, quarantined_at__isnull=False)
        return queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "event_type", "stamped", "dedupe_key", "processed_at", "attempts", "quarantined_at", "outcome", "error"]
    list_filter = [DeliveryStateFilter, "stamped", "event_type"]
    search_fields = ["dedupe_key", "webhook_id"]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "webhook_figures": webhook_figures()}
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(WebhookRefusal)
class WebhookRefusalAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "reason", "detail", "event_type", "location_id", "size"]
    list_filter = ["reason"]
    search_fields = ["detail", "location_id", "body_sha256"]


@admin.register(EmailEvent)
class EmailEventAdmin(SafeExportMixin, ExportMixin, ReadOnlyAdmin):
    resource_classes = [EmailEventResource]
    list_display = ["occurred_at", "kind", "detail", "lead", "card"]
    list_filter = ["kind"]
    list_select_related = ["lead", "card"]
    raw_id_fields = ["lead", "card"]


@admin.register(Reply)
class ReplyAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "lead", "card", "channel", "subject", "classification"]
    list_filter = ["classification", "channel"]
    list_select_related = ["lead", "card"]
    search_fields = ["lead__email", "subject", "text"]
    readonly_fields = ["lead", "card", "received_at", "channel", "subject", "text", "ghl_message_id", "classification", "delivery"]
