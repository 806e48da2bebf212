"""Leads: import, search, and suppression through the one service that applies it everywhere.

Import: the preview is a summary and the rows in error; a confirmed file of
more than LEAD_IMPORT_BACKGROUND_ROWS rows is imported by a background job
(outreach.leads.imports) whose progress page is the LeadImport's admin page.

The suppression flags are read-only here: ticking a box would change the
flag and nothing else (the lead's pending card would stay pending and no
history would be written). "Mark do-not-contact" calls
`outreach.inbound.suppression.suppress_lead`, as the unsubscribe page and the GHL
webhooks do.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST
from django.utils.html import format_html, format_html_join
from import_export.admin import ImportExportModelAdmin
from import_export.results import RowResult

from compliance.admin import as_entered_if_different
from compliance.models import Suppression
from compliance.spreadsheet import ImportFileError, ImportSummary, SafeImportMixin
from outreach.leads.imports import RETRIES_AFTER_A_LOST_WORKER, resume, runs_in_background, start_import
from outreach.models import Lead, LeadImport
from outreach.drafting.pipeline import PipelineError, redraft
from outreach.leads.resources import LeadResource
from outreach.inbound.suppression import suppress_lead

SUPPRESSION_FIELDS = ("do_not_contact", "do_not_contact_reason", "unsubscribed_at", "bounced_at", "replied_at")
# How many suppression history rows the lead page lists.
HISTORY_SHOWN = 20


@admin.register(Lead)
class LeadAdmin(SafeImportMixin, ImportExportModelAdmin):
    list_display = ["email_shown", "first_name", "last_name", "company", "domain_shown", "tier", "source", "do_not_contact", "unsubscribed_at", "bounced_at"]
    list_filter = ["tier", "source", "do_not_contact"]
    search_fields = ["email", "email_as_entered", "first_name", "last_name", "company", "domain"]
    resource_classes = [LeadResource]
    # ghl_contact_id is written only by the send job's resolve (upsert), never by a form: the job trusts it for nothing anyway.
    readonly_fields = ["email_as_entered", "domain_as_entered", "ghl_contact_id", *SUPPRESSION_FIELDS, "suppression_history"]
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

    def imports_in_background(self, rows: int) -> bool:
        return runs_in_background(rows)

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        """Confirm: a small file is imported here and now; a large one is kept and imported by a job."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            return super().process_import(request, **kwargs)
        upload_key = confirm_form.cleaned_data["import_file_name"]
        already = LeadImport.objects.filter(upload_key=upload_key).first()
        if already is not None:
            messages.info(request, "This file was already confirmed: here is its import.")
            return redirect(progress_url(already))
        input_format = self.get_import_formats()[int(confirm_form.cleaned_data["format"])](encoding=self.from_encoding)
        tmp_storage = self.get_tmp_storage_class()(
            name=upload_key, encoding=None, read_mode=input_format.get_read_mode(), **self.get_tmp_storage_class_kwargs()
        )
        try:
            data = tmp_storage.read()
        except OSError:
            messages.error(request, "This upload is no longer here (it was imported already, or it expired): upload the file again.")
            return redirect("admin:outreach_lead_import")
        try:
            text = input_format.decode(data)
            rows = len(input_format.create_dataset(text))
        except ImportFileError as exc:
            messages.error(request, str(exc))
            return redirect("admin:outreach_lead_import")
        if not runs_in_background(rows):
            return super().process_import(request, **kwargs)
        lead_import, _ = start_import(
            text=text, file_name=confirm_form.cleaned_data["original_file_name"], upload_key=upload_key, rows_total=rows, user=request.user
        )
        tmp_storage.remove()
        return redirect(progress_url(lead_import))

    def add_success_message(self, result, request):
        invalid = len(result.invalid_rows)
        messages.success(
            request,
            f"Import finished: {result.totals[RowResult.IMPORT_TYPE_NEW]} new leads written"
            + (f"; {invalid} row(s) with errors were not imported." if invalid else "."),
        )


def progress_url(lead_import: LeadImport) -> str:
    return reverse("admin:outreach_leadimport_change", args=[lead_import.pk])


@admin.register(LeadImport)
class LeadImportAdmin(admin.ModelAdmin):
    """The history of background lead imports; an import's page is its progress, refreshing itself until it ends."""

    list_display = ["created_at", "file_name", "created_by", "state", "rows_done", "rows_total", "finished_at"]
    list_filter = ["state"]
    actions = ["resume_selected"]
    # How often an unfinished import's page reloads itself, in seconds.
    refresh_seconds = 2

    # Whoever may import leads may follow imports; nobody edits or deletes their record.
    def has_module_permission(self, request) -> bool:
        return request.user.has_perm("outreach.add_lead")

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("outreach.add_lead")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_import_permission(self, request) -> bool:
        return request.user.has_perm("outreach.add_lead")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content").select_related("created_by")

    @admin.action(description="Resume the selected imports that stopped", permissions=["import"])
    def resume_selected(self, request, queryset) -> None:
        resumed = resume(queryset)
        if resumed.enqueued:
            names = ", ".join(lead_import.file_name for lead_import in resumed.enqueued)
            self.message_user(request, f"Put back on the queue: {names}. Each resumes after its last finished chunk.", messages.SUCCESS)
        for lead_import, why in resumed.left:
            self.message_user(request, f"Left {lead_import.file_name} alone: {why}.", messages.WARNING)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        lead_import = self.get_object(request, object_id)
        if lead_import is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import of {lead_import.file_name}",
            "opts": self.opts,
            "lead_import": lead_import,
            "summary": ImportSummary.from_dict(lead_import.summary),
            "done": lead_import.state == "done",
            "percent": round(100 * lead_import.rows_done / lead_import.rows_total) if lead_import.rows_total else 100,
            "refresh_seconds": None if lead_import.finished else self.refresh_seconds,
            "retries": RETRIES_AFTER_A_LOST_WORKER,
        }
        return TemplateResponse(request, "admin/outreach/leadimport/progress.html", context)
