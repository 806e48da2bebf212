"""Campaigns and their cadence: steps inline with a live preview, enrollments,
and per-step counts. The counts and the preview come from outreach.drafting.cadence and
outreach.drafting.drafters; this module only lays them out."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from outreach.drafting.cadence import step_stats
from outreach.drafting.drafters import DraftingError, preview, save_step
from outreach.models import CadenceStep, Campaign, Enrollment
from outreach.sending.headers import display_from, from_header

RECENT_ENROLLMENTS = 10


class CadenceStepInline(admin.StackedInline):
    model = CadenceStep
    extra = 0
    fields = [("number", "delay_days", "template_version"), "subject_template", "body_template", "preview"]
    readonly_fields = ["template_version", "preview"]

    @admin.display(description="Preview (sample lead)")
    def preview(self, step: CadenceStep | None) -> str:
        if step is None or step.pk is None:
            return "Saved steps show a preview here."
        result = preview(step)
        if isinstance(result, DraftingError):
            return format_html('<p class="errornote">Cannot draft: {}</p>', str(result))
        return format_html(
            '<div class="step-preview"><p><strong>Subject:</strong> {}</p><pre class="wrapped">{}</pre></div>',
            result.subject,
            result.body,
        )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "ref", "tier", "classifier", "route", "is_active", "step_count", "active_enrollments"]
    list_filter = ["is_active", "tier"]
    search_fields = ["name", "ref"]
    inlines = [CadenceStepInline]
    readonly_fields = ["created_at", "step_counts", "enrollments", "from_as_sent"]
    fieldsets = [
        (None, {"fields": ["name", "ref", "is_active"]}),
        ("Targeting and labels", {"fields": ["tier", "classifier", "route"]}),
        # The name is refused here when it could add mail headers (Campaign.sender_name's validator).
        ("Sender", {"fields": ["sender_name", "sender_email", "from_as_sent"]}),
        ("Progress", {"fields": ["step_counts", "enrollments", "created_at"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_steps=Count("steps", distinct=True),
                n_active=Count("enrollments", filter=Q(enrollments__status=Enrollment.Status.ACTIVE), distinct=True),
            )
        )

    @admin.display(description="steps", ordering="n_steps")
    def step_count(self, campaign: Campaign) -> int:
        return campaign.n_steps

    @admin.display(description="active enrollments", ordering="n_active")
    def active_enrollments(self, campaign: Campaign) -> int:
        return campaign.n_active

    @admin.display(description="As sent")
    def from_as_sent(self, campaign: Campaign) -> str:
        # The same From line the card page previews and the job sends; no Reply-To exists to show.
        line = from_header(campaign.from_name, campaign.from_email)
        shown = display_from(line)
        return format_html(
            "<p>From: <code>{}</code>{}</p><p>Replies: to {} (GHL's send takes no Reply-To; it threads replies "
            "into the contact's conversation)</p>",
            line,
            format_html(" (shown as {})", shown) if shown != line else "",
            campaign.from_email,
        )

    @admin.display(description="Per step")
    def step_counts(self, campaign: Campaign) -> str:
        if campaign.pk is None:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (s.number, s.delay_days, s.enrolled, s.due_today, s.drafted, s.sent, s.replied)
                for s in step_stats(campaign)
            ),
        )
        return format_html(
            "<table><thead><tr><th>step</th><th>delay (days)</th><th>enrolled</th><th>due today</th>"
            "<th>drafted</th><th>sent</th><th>replied</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Enrollments")
    def enrollments(self, campaign: Campaign) -> str:
        if campaign.pk is None:
            return "—"
        by_status = dict(
            Enrollment.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("pk")).order_by()
        )
        summary = ", ".join(f"{by_status.get(status, 0)} {label.lower()}" for status, label in Enrollment.Status.choices)
        link = reverse("admin:outreach_enrollment_changelist") + f"?campaign__id__exact={campaign.pk}"
        recent = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (e.lead.email, e.get_status_display(), e.current_step, e.next_due_at or "—", e.stop_reason or "—")
                for e in Enrollment.objects.filter(campaign=campaign).select_related("lead")[:RECENT_ENROLLMENTS]
            ),
        )
        return format_html(
            '<p>{} — <a href="{}">see all</a></p><table><thead><tr><th>lead</th><th>status</th><th>step</th>'
            "<th>next due</th><th>stop reason</th></tr></thead><tbody>{}</tbody></table>",
            summary,
            link,
            recent,
        )

    def save_formset(self, request, form, formset, change):
        if formset.model is not CadenceStep:
            return super().save_formset(request, form, formset, change)
        # Steps are saved through the drafting service, which versions changed templates.
        for step in formset.save(commit=False):
            save_step(step)
        for step in formset.deleted_objects:
            step.delete()
        formset.save_m2m()
        return None


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["lead", "campaign", "status", "current_step", "next_due_at", "stop_reason", "enrolled_at"]
    list_filter = ["status", "campaign", "stop_reason"]
    list_select_related = ["lead", "campaign"]
    search_fields = ["lead__email"]
    raw_id_fields = ["lead"]
    readonly_fields = ["enrolled_at", "stopped_at"]
