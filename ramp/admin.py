"""Ramp admin: the operator's buttons call ramp.services, the same functions as `manage.py ramp`."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.html import format_html, format_html_join

from caio.admin import ReadOnlyAdmin
from ramp import services
from ramp.cycles import LiveCycle
from ramp.models import Hold, PreflightRun, QueueTrace, RampDay, RampPolicy
from ramp.report import format_report


# The runbook's stop condition the Head of Sales raises.
COPY_FAILURE = "Systemic copy failure"


def _who(request) -> str:
    return request.user.get_username()


def _button(model_admin: admin.ModelAdmin, request, action: Callable[[], str]) -> HttpResponseRedirect:
    """Run a ramp service for a change-page button (`action` returns what happened); show it, or why it was refused."""
    try:
        done = action()
    except services.RampError as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
    else:
        model_admin.message_user(request, done)
    return HttpResponseRedirect(request.path)


def _graduated(policy: RampPolicy) -> str:
    return f"Graduated to level {policy.graduation_level}: cap {policy.current_cap()}/day."


@admin.register(RampPolicy)
class RampPolicyAdmin(admin.ModelAdmin):
    change_form_template = "admin/ramp/ramppolicy/change_form.html"
    list_display = ["__str__", "mode", "clean_days_required", "graduation_level", "window_start", "window_end"]
    readonly_fields = ["graduation_level", "graduated_at", "streak_starts_on", "graduation_review", "updated_at"]
    fieldsets = [
        ("Caps", {"fields": ["daily_cap", "per_company_daily_cap", "allowed_tiers", "cap_steps", "tier2_canary_share"]}),
        ("Graduation", {"fields": ["mode", "clean_days_required", "graduation_level", "graduated_at", "streak_starts_on", "graduation_review"]}),
        ("Sending window (operating time zone)", {"fields": ["window_start", "window_end"]}),
        (
            "Stop thresholds and KPI floors",
            {
                "description": "A ceiling holds when the 7-day window shows the rate over it at the stop confidence "
                "(exact one-sided binomial test), or when its hold count is reached.",
                "fields": [
                    "max_bounce_rate", "max_unsubscribe_rate", "max_complaint_rate", "stop_confidence",
                    "bounce_hold_count", "unsubscribe_hold_count", "complaint_hold_count", "min_reply_rate",
                ],
            },
        ),
    ]

    def has_add_permission(self, request):
        return not RampPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Graduation now")
    def graduation_review(self, obj):
        review = services.graduation_review(policy=obj)
        if review.allowed:
            return "Allowed: use the Graduate button."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((r,) for r in review.reasons)))

    def response_change(self, request, obj):
        if "_graduate" in request.POST:
            return _button(self, request, lambda: _graduated(services.graduate(by=_who(request))))
        return super().response_change(request, obj)


@admin.register(RampDay)
class RampDayAdmin(admin.ModelAdmin):
    change_form_template = "admin/ramp/rampday/change_form.html"
    list_display = ["date", "is_live", "cap", "dispatched_count", "sent_count", "error_count", "hold_was_active", "clean", "decision", "owner"]
    list_filter = ["is_live", "decision"]
    date_hierarchy = "date"
    readonly_fields = [
        "date", "is_live", "cap", "dispatched_count", "sent_count", "error_count", "hold_was_active", "owner",
        "decision", "decided_by", "decided_at", "decision_reason", "report_display",
    ]
    fieldsets = [
        ("Day", {"fields": ["date", "is_live", "owner", "cap", "dispatched_count", "sent_count", "error_count", "hold_was_active"]}),
        ("Decision", {"fields": ["decision", "decided_by", "decided_at", "decision_reason"]}),
        ("Signals from GHL reporting (entered by the operator)", {"fields": ["reported_opens", "reported_meetings", "reported_complaints"]}),
        ("Daily report", {"fields": ["report_display", "notes"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description="Clean")
    def clean(self, obj):
        return obj.is_clean

    @admin.display(description="Report")
    def report_display(self, obj):
        if not obj.report:
            return "No report yet: run `manage.py daily_report --date %s`." % obj.date
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>', "\n".join(format_report(obj.report))
        )

    def response_change(self, request, obj):
        for decision in RampDay.Decision.values:
            if f"_decide_{decision}" in request.POST:
                reason = request.POST.get("decision_reason_input", "")
                return _button(
                    self,
                    request,
                    lambda decision=decision: "Recorded {} for {}.".format(
                        services.decide(decision=decision, by=_who(request), reason=reason, date=obj.date).decision, obj.date
                    ),
                )
        return super().response_change(request, obj)


@admin.register(Hold)
class HoldAdmin(admin.ModelAdmin):
    """Adding a hold raises it; a hold is cleared only with the button, a name and a reason."""

    change_form_template = "admin/ramp/hold/change_form.html"
    list_display = ["raised_at", "active", "source", "reason", "raised_by", "cleared_at", "cleared_by"]
    list_filter = ["source", ("cleared_at", admin.EmptyFieldListFilter)]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["reason"]
        return ["reason", "source", "raised_by", "raised_at", "cleared_at", "cleared_by", "clear_reason"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    @admin.display(boolean=True, description="Active")
    def active(self, obj):
        return obj.is_active

    def save_model(self, request, obj, form, change):
        if change:
            return
        hold = services.raise_person_hold(reason=obj.reason, by=_who(request))
        obj.pk = hold.pk

    def get_urls(self):
        raise_view = self.admin_site.admin_view(self.raise_copy_failure_view)
        return [path("raise-copy-failure/", raise_view, name="ramp_hold_raise_copy_failure"), *super().get_urls()]

    def raise_copy_failure_view(self, request):
        """The Head of Sales' stop condition from the card page and the index: a systemic copy failure, with a reason.

        POST only; it raises a person hold (the same service as `ramp hold`)
        and returns to the page it came from.
        """
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            back = reverse("admin:index")
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(request, "A hold needs a reason: say what is wrong with the copy.", messages.ERROR)
            return HttpResponseRedirect(back)
        try:
            hold = services.raise_person_hold(reason=f"{COPY_FAILURE}: {reason}", by=_who(request))
        except services.RampError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"Raised {hold.as_line()}. Nothing will be sent until an operator clears it.", messages.WARNING)
        return HttpResponseRedirect(back)

    def response_change(self, request, obj):
        if "_clear_hold" in request.POST:
            reason = request.POST.get("clear_reason_input", "")
            return _button(
                self, request, lambda: f"{len(services.clear(hold_id=obj.pk, by=_who(request), reason=reason))} hold cleared."
            )
        return super().response_change(request, obj)


@admin.register(PreflightRun)
class PreflightRunAdmin(ReadOnlyAdmin):
    list_display = ["ran_at", "passed", "ran_by", "failed_checks"]
    list_filter = ["passed"]
    readonly_fields = ["ran_at", "passed", "ran_by", "rows"]
    fields = readonly_fields

    @admin.display(description="Failed")
    def failed_checks(self, obj):
        return ", ".join(row["id"] for row in obj.results if not row["passed"]) or "-"

    @admin.display(description="Checks")
    def rows(self, obj):
        return format_html(
            "<table><tr><th>id</th><th>check</th><th>result</th><th>ms</th><th>detail</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((r["id"], r["name"], "pass" if r["passed"] else "FAIL", r["ms"], r["detail"]) for r in obj.results),
            ),
        )


@admin.register(QueueTrace)
class QueueTraceAdmin(ReadOnlyAdmin):
    list_display = ["taken_at", "taken_by", "drift_flagged"]
    list_filter = ["drift_flagged"]
    readonly_fields = ["taken_at", "taken_by", "counts", "drift", "drift_flagged"]


@admin.register(LiveCycle)
class LiveCycleAdmin(ReadOnlyAdmin):
    """Each supervised live cycle as it was run: written by the cycle itself, read here."""

    list_display = ["started_at", "ended_at", "operator", "outcome", "claimed", "sent", "failed", "in_flight", "held_back"]
    list_filter = ["outcome", "date"]
    search_fields = ["operator"]
    readonly_fields = [
        "date", "operator", "started_at", "ended_at", "outcome", "gates_passed", "refused_because", "claimed", "sent",
        "failed", "released", "in_flight", "held_back_by_reason", "card_ids",
    ]

    @admin.display(description="held back")
    def held_back(self, cycle: LiveCycle) -> str:
        return ", ".join(f"{reason} {n}" for reason, n in sorted(cycle.held_back_by_reason.items())) or "none"
