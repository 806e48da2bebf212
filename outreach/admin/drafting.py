"""Drafting runs in the admin: start one (an RQ job drafts it), and follow its progress on its page."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from outreach.drafting.budget import budget_reached, spent_on_day
from outreach.drafting.runs import start_run
from outreach.models import Campaign, DraftingRun

PERMISSION = "outreach.change_campaign"


class StartRunForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.filter(is_active=True))
    source = forms.CharField(max_length=100, help_text="The lead source to draft step 1 for, e.g. wpromote.")
    limit = forms.IntegerField(min_value=1, max_value=100_000, initial=50)
    mode = forms.ChoiceField(choices=[("production", "production"), ("shadow", "shadow (never sent)")])
    concurrency = forms.IntegerField(min_value=1, max_value=32, initial=4, help_text="Model requests in flight at once.")


@admin.register(DraftingRun)
class DraftingRunAdmin(admin.ModelAdmin):
    """The history of drafting runs; a run's page is its progress, refreshing itself until it ends."""

    list_display = ["created_at", "campaign", "source", "mode", "state", "leads_done", "limit", "drafted", "finished_at"]
    list_filter = ["state"]
    refresh_seconds = 2

    def has_module_permission(self, request) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StartRunForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            run = start_run(user=request.user, **form.cleaned_data)
            return HttpResponseRedirect(reverse("admin:outreach_draftingrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Start a drafting run",
            "opts": self.opts,
            "form": form,
            "spent": spent_on_day(),
            "budget_message": budget_reached(),
        }
        return TemplateResponse(request, "admin/outreach/draftingrun/start.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = self.get_object(request, object_id)
        if run is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Drafting run {run.pk}: {run.campaign}",
            "opts": self.opts,
            "run": run,
            "percent": round(100 * run.leads_done / run.limit) if run.limit else 100,
            "refresh_seconds": None if run.finished else self.refresh_seconds,
            "spent": spent_on_day(),
        }
        return TemplateResponse(request, "admin/outreach/draftingrun/progress.html", context)
