from __future__ import annotations

from django.contrib import admin

from outreach.models import Lead


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "company", "tier", "source", "do_not_contact", "unsubscribed_at", "bounced_at"]
    list_filter = ["tier", "source", "do_not_contact"]
    search_fields = ["email", "first_name", "last_name", "company", "domain"]
