from __future__ import annotations

from django.contrib import admin

from ramp.models import Hold, PreflightRun, RampDay, RampPolicy


@admin.register(RampPolicy)
class RampPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "mode", "clean_days_required", "graduation_level", "window_start", "window_end"]

    def has_add_permission(self, request):
        return not RampPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RampDay)
class RampDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_live", "cap", "dispatched_count", "sent_count", "error_count", "pending_approval_hold", "decision", "owner"]
    list_filter = ["is_live", "decision"]
    date_hierarchy = "date"


@admin.register(Hold)
class HoldAdmin(admin.ModelAdmin):
    list_display = ["raised_at", "source", "reason", "raised_by", "cleared_at", "cleared_by"]
    list_filter = ["source"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PreflightRun)
class PreflightRunAdmin(admin.ModelAdmin):
    list_display = ["ran_at", "passed", "ran_by"]
    list_filter = ["passed"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
