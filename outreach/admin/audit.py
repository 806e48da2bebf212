from __future__ import annotations

from django.contrib import admin
from import_export.admin import ExportMixin

from caio.admin import ReadOnlyAdmin
from compliance.spreadsheet import SafeExportMixin
from outreach.models import CardTransition, DispatchAttempt, RejectionTag
from outreach.leads.resources import CardTransitionResource


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
