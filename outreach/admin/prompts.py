"""Prompt versions in the admin: a version's page is its shadow lane (blind pairs, gates, promotion) and rollback.

Blind: the pair form shows "left" and "right" only; which version wrote which
is kept on the pair and revealed nowhere on the page until a promotion is
asked for (the evidence counts wins by version, not by pair).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from outreach import review
from outreach.drafting import prompts, shadow
from outreach.drafting.learning import accept_style_rule, propose_style_rules
from outreach.models import PromptVersion

PERMISSION = "outreach.review_pendingemail"


@admin.register(PromptVersion)
class PromptVersionAdmin(admin.ModelAdmin):
    list_display = ["step", "number", "state", "note", "created_at", "promoted_at"]
    list_filter = ["state"]

    def has_module_permission(self, request) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        version = self.get_object(request, object_id)
        if version is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST":
            return self._act(request, version)
        pairs = list(version.pairs.order_by("pk"))
        next_pair = next((pair for pair in pairs if not pair.choice), None)
        step = version.step
        context = {
            **self.admin_site.each_context(request),
            "title": f"{step} · prompt version {version.number} ({version.get_state_display().lower()})",
            "opts": self.opts,
            "version": version,
            "in_use": step.prompt_version == version.number,
            "pairs": pairs,
            "decided": sum(1 for pair in pairs if pair.choice),
            "next_pair": next_pair,
            "sides": shadow.sides(next_pair) if next_pair else None,
            "gates": shadow.gate_failures(version) if pairs else None,
            "tags": list(review.reviewer_tags()),
            "proposals": propose_style_rules(step) if step.prompt_version == version.number else [],
            "history": list(PromptVersion.objects.filter(step=step).order_by("-number")),
        }
        return TemplateResponse(request, "admin/outreach/promptversion/shadow.html", context)

    def _act(self, request, version: PromptVersion):
        here = reverse("admin:outreach_promptversion_change", args=[version.pk])
        action = request.POST.get("action", "")
        if action == "run":
            pairs = shadow.run_shadow(version)
            self.message_user(request, f"Drafted {len(pairs)} pairs on the frozen set.", messages.SUCCESS)
        elif action == "decide":
            pair = version.pairs.filter(pk=request.POST.get("pair"), choice="").first()
            if pair is not None:
                pick = request.POST.get("pick", "")
                tag = review.reviewer_tags().filter(slug=request.POST.get("tag", "")).first()
                try:
                    shadow.decide(pair, pick=pick, user=request.user, tag=tag)
                except ValueError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
        elif action == "promote":
            try:
                shadow.promote(version)
                self.message_user(request, f"Promoted: prompt version {version.number} now drafts {version.step}.", messages.SUCCESS)
            except shadow.PromotionRefused as refused:
                self.message_user(request, f"Promotion refused: {refused}.", messages.ERROR)
        elif action == "rollback":
            try:
                restored = prompts.rollback(version.step)
            except prompts.PromptError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"Rolled back: prompt version {restored.number} drafts {version.step} again.", messages.SUCCESS)
                here = reverse("admin:outreach_promptversion_change", args=[restored.pk])
        elif action == "accept_rule":
            candidate = accept_style_rule(version.step, request.POST.get("rule", ""), user=request.user)
            self.message_user(request, f"Candidate version {candidate.number} made; run it in the shadow lane.", messages.SUCCESS)
            here = reverse("admin:outreach_promptversion_change", args=[candidate.pk])
        return HttpResponseRedirect(here)
