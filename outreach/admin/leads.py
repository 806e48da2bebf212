"""Leads: import, search, and suppression through the one service that applies it everywhere.

The suppression flags are read-only here: ticking a box would change the
flag and nothing else (the lead's pending card would stay pending and no
history would be written). "Mark do-not-contact" calls
`outreach.unsubscribe.suppress_lead`, as the unsubscribe page and the GHL
webhooks do.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from import_export.admin import ImportExportModelAdmin
from import_export.results import RowResult

from compliance.admin import as_entered_if_different
from compliance.models import Suppression
from compliance.spreadsheet import SafeImportMixin
from outreach.models import Lead
from outreach.pipeline import PipelineError, redraft
from outreach.resources import LeadResource
from outreach.unsubscribe import suppress_lead

SUPPRESSION_FIELDS = ("do_not_contact", "do_not_contact_reason", "unsubscribed_at", "bounced_at", "replied_at")
# How many suppression history rows the lead page lists.
HISTORY_SHOWN = 20


@admin.register(Lead)
class LeadAdmin(SafeImportMixin, ImportExportModelAdmin):
    list_display = ["email_shown", "first_name", "last_name", "company", "domain_shown", "tier", "source", "do_not_contact", "unsubscribed_at", "bounced_at"]
    list_filter = ["tier", "source", "do_not_contact"]
    search_fields = ["email", "email_as_entered", "first_name", "last_name", "company", "domain"]
    resource_classes = [LeadResource]
    readonly_fields = ["email_as_entered", "domain_as_entered", *SUPPRESSION_FIELDS, "suppression_history"]
    actions = ["mark_do_not_contact", "redraft_fresh_copy"]

    @admin.display(description="suppression history")
    def suppression_history(self, lead: Lead) -> str:
        if lead.pk is None:
            return "—"
        rows = Suppression.objects.filter(lead_id=lead.pk).order_by("-created_at")[:HISTORY_SHOWN]
        if not rows:
            return "none"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li>{} {} via {}{}</li>", ((r.created_at, r.get_kind_display(), r.source, f": {r.note}" if r.note else "") for r in rows)
            ),
        )

    @admin.action(description="Redraft fresh copy for selected leads' stale or cleanup-rejected cards", permissions=["redraft"])
    def redraft_fresh_copy(self, request, queryset):
        """New drafts through every check, pending review; the old text is never approved again."""
        try:
            report = redraft(lead_ids=list(queryset.values_list("pk", flat=True)), apply=True, actor=request.user)
        except PipelineError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        if report.replaced:
            self.message_user(
                request,
                f"Drafted {len(report.drafted)} fresh card(s), pending review: "
                + ", ".join(f"card {new} replaces card {old}" for new, old in report.replaced.items()),
                messages.SUCCESS,
            )
        for error in report.errors:
            self.message_user(request, f"{error.email}: not redrafted ({error.stage}): {error.message}", messages.WARNING)
        if not report.replaced and not report.errors:
            self.message_user(request, "None of the selected leads has a stale or cleanup-rejected card to redraft.", messages.INFO)
        return None

    def has_redraft_permission(self, request) -> bool:
        # Drafting is the operator's pipeline step (run_pipeline); the reviewer then decides the new card.
        return request.user.has_perm("outreach.change_enrollment")

    @admin.action(description="Mark selected leads do-not-contact (suppress everywhere, asks why)", permissions=["change"])
    def mark_do_not_contact(self, request, queryset):
        leads = list(queryset.order_by("email"))
        reason = (request.POST.get("reason") or "").strip()
        error = ""
        if request.POST.get("confirm"):
            if reason:
                user = request.user.get_username()
                withdrawn = 0
                for lead in leads:
                    outcome = suppress_lead(lead, reason="do_not_contact", source="admin", note=f"{reason} (by {user})"[:255])
                    withdrawn += len(outcome.cards_rejected) + len(outcome.cards_failed)
                    self.log_change(request, lead, f"Marked do-not-contact: {reason}")
                self.message_user(
                    request,
                    f"Marked {len(leads)} lead(s) do-not-contact; {withdrawn} open card(s) withdrawn.",
                    messages.SUCCESS,
                )
                return None
            error = "Say why these leads must not be contacted: the reason is kept in their suppression history."
        context = {
            **self.admin_site.each_context(request),
            "title": "Mark leads do-not-contact",
            "opts": self.opts,
            "leads": leads,
            "reason": reason,
            "error": error,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/outreach/lead/suppress.html", context)

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
