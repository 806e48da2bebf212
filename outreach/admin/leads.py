from __future__ import annotations

from django.contrib import admin, messages
from import_export.admin import ImportExportModelAdmin
from import_export.results import RowResult

from compliance.admin import as_entered_if_different
from compliance.spreadsheet import SafeImportMixin
from outreach.models import Lead
from outreach.resources import LeadResource


@admin.register(Lead)
class LeadAdmin(SafeImportMixin, ImportExportModelAdmin):
    list_display = ["email_shown", "first_name", "last_name", "company", "domain_shown", "tier", "source", "do_not_contact", "unsubscribed_at", "bounced_at"]
    list_filter = ["tier", "source", "do_not_contact"]
    search_fields = ["email", "email_as_entered", "first_name", "last_name", "company", "domain"]
    readonly_fields = ["email_as_entered", "domain_as_entered"]
    resource_classes = [LeadResource]

    @admin.display(description="email", ordering="email")
    def email_shown(self, lead: Lead) -> str:
        return as_entered_if_different(lead.email, lead.email_as_entered)

    @admin.display(description="domain", ordering="domain")
    def domain_shown(self, lead: Lead) -> str:
        return as_entered_if_different(lead.domain, lead.domain_as_entered)

    def has_import_permission(self, request):
        return request.user.has_perm("outreach.add_lead")

    def has_export_permission(self, request):
        return request.user.has_perm("outreach.view_lead")

    def import_action(self, request, **kwargs):
        """Offer the confirmation when the only problems are bad rows: those are skipped, the good rows written."""
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        result = context.get("result")
        if (
            result is not None
            and "confirm_form" not in context
            and not result.has_errors()
            and result.has_validation_errors()
            and result.valid_rows()
        ):
            context["confirm_form"] = self.create_confirm_form(request, import_form=context["form"])
        return response

    def add_success_message(self, result, request):
        invalid = len(result.invalid_rows)
        messages.success(
            request,
            f"Import finished: {result.totals[RowResult.IMPORT_TYPE_NEW]} new leads written"
            + (f"; {invalid} row(s) with errors were not imported." if invalid else "."),
        )
