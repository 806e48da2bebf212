from __future__ import annotations

from django.contrib import admin

from outreach.models import CadenceStep, Campaign, Enrollment


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
