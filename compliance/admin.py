from __future__ import annotations

from django.contrib import admin

from compliance.models import DoNotContact, ExcludedDomain


@admin.register(ExcludedDomain)
class ExcludedDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "reason", "created_at"]
    search_fields = ["domain"]


@admin.register(DoNotContact)
class DoNotContactAdmin(admin.ModelAdmin):
    list_display = ["email", "reason", "created_at"]
    search_fields = ["email"]
