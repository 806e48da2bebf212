"""Ramp admin: the operator's buttons call ramp.services, the same functions as `manage.py ramp`."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.html import format_html, format_html_join

from caio.admin import ReadOnlyAdmin
from ramp import quality, services
from ramp.cycles import LiveCycle
from ramp.days import operating_date
from ramp.models import LIMIT_FIELDS, Hold, PreflightRun, QueueTrace, RampDay, RampPolicy, RampPolicyChange
from ramp.people import APPROVE_POLICY_CHANGE, SIGN_OFF_QUALITY
from ramp.quality import QualityConfirmation, QualityRubric, QualitySignoff
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


class RampPolicyForm(forms.ModelForm):
    """The policy page: a change that widens sending is refused here, by the same judge as change_policy."""

    class Meta:
        model = RampPolicy
        fields = list(services.POLICY_FORM_FIELDS)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        # Before _post_clean the instance still holds the stored values (or the defaults, on the first save).
        try:
            services.check_policy_change(self.instance, {name: cleaned[name] for name in self.changed_data if name in cleaned})
        except services.RampError as exc:
            raise forms.ValidationError(str(exc)) from None
        return cleaned


@admin.register(RampPolicy)
class RampPolicyAdmin(admin.ModelAdmin):
    change_form_template = "admin/ramp/ramppolicy/change_form.html"
    form = RampPolicyForm
    list_display = ["__str__", "mode", "clean_days_required", "graduation_level", "window_start", "window_end"]
    readonly_fields = ["graduation_level", "graduated_at", "streak_starts_on", "graduation_review", "head_of_sales", "updated_at"]
    fieldsets = [
        ("Caps", {"fields": ["daily_cap", "per_company_daily_cap", "allowed_tiers", "cap_steps", "tier2_canary_share"]}),
        ("Graduation", {"fields": ["mode", "clean_days_required", "graduation_level", "graduated_at", "streak_starts_on", "graduation_review", "head_of_sales"]}),
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

    @admin.display(description="Head of Sales")
    def head_of_sales(self, obj):
        return format_html(
            '{}<p><a href="{}">The Head of Sales signs off and confirms here.</a></p>',
            quality_lines(services.quality_summary(policy=obj, today=operating_date())),
            reverse("admin:ramp_qualitysignoff_changelist"),
        )

    def save_model(self, request, obj, form, change):
        """Save through change_policy, which judges the change again under the row lock."""
        values = {name: form.cleaned_data[name] for name in form.changed_data if name in services.POLICY_FORM_FIELDS}
        try:
            policy = services.change_policy(by=_who(request), values=values)
        except services.RampError as exc:
            # Another change landed between the form's check and this save.
            self.message_user(request, str(exc), messages.ERROR)
            policy = RampPolicy.get()
        obj.pk = policy.pk

    def response_change(self, request, obj):
        if "_graduate" in request.POST:
            return _button(self, request, lambda: _graduated(services.graduate(by=_who(request))))
        return super().response_change(request, obj)


def _proposal_form() -> type[forms.ModelForm]:
    """The proposal page's form: the policy's limits as the policy page edits them, and why."""
    policy_fields = forms.fields_for_model(RampPolicy, fields=LIMIT_FIELDS)

    def clean(self):
        cleaned = forms.ModelForm.clean(self)
        if self.errors:
            return cleaned
        try:
            services.proposal_changes(RampPolicy.get(), {name: cleaned[name] for name in LIMIT_FIELDS})
        except services.RampError as exc:
            raise forms.ValidationError(str(exc)) from None
        return cleaned

    meta = type("Meta", (), {"model": RampPolicyChange, "fields": ["reason"]})
    return type("RampPolicyChangeForm", (forms.ModelForm,), {**policy_fields, "Meta": meta, "clean": clean})


@admin.register(RampPolicyChange)
class RampPolicyChangeAdmin(admin.ModelAdmin):
    """Two-person widening: an operator proposes new limits here; the Head of Sales approves or rejects on the change page."""

    change_form_template = "admin/ramp/ramppolicychange/change_form.html"
    list_display = ["proposed_at", "status", "proposed_by", "summary", "decided_by", "decided_at"]
    list_filter = ["status"]
    readonly_fields = ["status", "what", "reason", "proposed_by", "proposed_at", "decided_by", "decided_at", "decision_note"]

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # The only change is the Head of Sales' decision, through the buttons.
        return request.user.has_perm(APPROVE_POLICY_CHANGE)

    def get_fields(self, request, obj=None):
        if obj is None:
            return [*LIMIT_FIELDS, "reason"]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = _proposal_form()
        return super().get_form(request, obj, change, **kwargs)

    def get_changeform_initial_data(self, request):
        return RampPolicy.get().limit_values()

    @admin.display(description="changes")
    def summary(self, obj):
        return "; ".join(obj.change_lines())

    @admin.display(description="Changes asked for (value when proposed → value asked)")
    def what(self, obj):
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((line,) for line in obj.change_lines())))

    def save_model(self, request, obj, form, change):
        if change:
            return
        proposal = services.propose_policy_change(
            by=_who(request), values={name: form.cleaned_data[name] for name in LIMIT_FIELDS}, reason=obj.reason
        )
        obj.pk = proposal.pk

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_decide"] = (
            obj is not None and obj.status == RampPolicyChange.Status.PROPOSED and request.user.has_perm(APPROVE_POLICY_CHANGE)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_change(self, request, obj):
        note = request.POST.get("decision_note_input", "")
        if "_approve_change" in request.POST:
            return _button(
                self, request, lambda: f"Approved change #{services.approve_policy_change(change_id=obj.pk, by=_who(request), note=note).pk}: "
                f"{RampPolicy.get()}.",
            )
        if "_reject_change" in request.POST:
            return _button(
                self, request, lambda: f"Rejected change #{services.reject_policy_change(change_id=obj.pk, by=_who(request), note=note).pk}."
            )
        return super().response_change(request, obj)


@admin.register(RampDay)
class RampDayAdmin(admin.ModelAdmin):
    change_form_template = "admin/ramp/rampday/change_form.html"
    list_display = ["date", "is_live", "cap", "dispatched_count", "sent_count", "error_count", "hold_was_active", "clean", "decision", "owner"]
    list_filter = ["is_live", "decision"]
    date_hierarchy = "date"
    readonly_fields = [
        "date", "is_live", "cap", "dispatched_count", "sent_count", "error_count", "hold_was_active", "owner",
        "decision", "decided_by", "decided_at", "decision_reason", "verdict_display", "report_display",
    ]
    fieldsets = [
        ("Day", {"fields": ["date", "is_live", "owner", "cap", "dispatched_count", "sent_count", "error_count", "hold_was_active"]}),
        ("Decision", {"fields": ["decision", "decided_by", "decided_at", "decision_reason", "verdict_display"]}),
        ("Signals from GHL reporting (entered by the operator)", {"fields": ["reported_opens", "reported_meetings", "reported_complaints"]}),
        ("Daily report", {"fields": ["report_display", "notes"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description="Counts toward graduation")
    def clean(self, obj):
        # The verdict every page shows (ramp.services.day_verdict); a day without a live run has none.
        return services.day_verdict(obj, getattr(self, "_policy", None)).counts if obj.is_live else None

    def changelist_view(self, request, extra_context=None):
        # One policy read for the page, not one a row (the same row for every request).
        self._policy = RampPolicy.get()
        return super().changelist_view(request, extra_context)

    @admin.display(description="Toward graduation")
    def verdict_display(self, obj):
        return services.day_verdict(obj).as_line() if obj.is_live else "No live run: it neither counts nor breaks the streak."

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            held = services.signals_entered(obj, changed=form.changed_data, by=_who(request))
        for hold in held:
            self.message_user(request, f"Held: {hold.as_line()}", messages.WARNING)

    @admin.display(description="Report")
    def report_display(self, obj):
        if not obj.report:
            return "No report yet: run `manage.py daily_report --date %s`." % obj.date
        return format_html(
            '<pre class="wrapped">{}</pre>', "\n".join(format_report(obj.report))
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


def quality_lines(summary: dict):
    """The Head of Sales' records as the ramp pages show them: the sign-off, the confirmation, and why either does not count."""
    rubric = f"v{summary['rubric_version']}" if summary["rubric_version"] else "none written"
    rows = [
        ("Quality rubric", f"{rubric}; rejection tags {summary['taxonomy_version']} ({len(summary['taxonomy_tags'])} tags)", True),
        ("Sign-off", summary["signoff"] or "none recorded", summary["signoff_current"]),
        ("Copy quality", summary["confirmation"] or "none recorded", summary["confirmation_current"]),
    ]
    return format_html(
        '<ul class="quality-state">{}</ul>{}',
        format_html_join(
            "", '<li>{}: {}{}</li>', ((label, text, "" if ok else " (does not count)") for label, text, ok in rows)
        ),
        format_html('<ul class="quality-problems">{}</ul>', format_html_join("", "<li>{}</li>", ((p,) for p in summary["problems"])))
        if summary["problems"]
        else "",
    )


class RubricForm(forms.ModelForm):
    """The next rubric version's text, checked by the service before it is saved, so a refusal keeps what was typed."""

    class Meta:
        model = QualityRubric
        fields = ["text"]

    def clean_text(self) -> str:
        try:
            return services.check_rubric_text(self.cleaned_data.get("text", ""))
        except services.RampError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(QualityRubric)
class QualityRubricAdmin(admin.ModelAdmin):
    """Each save adds the next version; a version is never edited, so a sign-off names the text it read."""

    list_display = ["version", "written_by", "written_at", "first_line"]
    fields = ["text"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        return ["text"] if obj is None else ["version", "written_by", "written_at", "text"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    @admin.display(description="Rubric")
    def first_line(self, obj):
        return obj.text.splitlines()[0] if obj.text else ""

    def get_changeform_initial_data(self, request):
        current = QualityRubric.current()
        return {"text": current.text} if current else {}

    def save_model(self, request, obj, form, change):
        rubric = services.write_rubric(text=obj.text, by=_who(request))
        obj.pk, obj.version = rubric.pk, rubric.version

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = RubricForm
        return super().get_form(request, obj, change, **kwargs)

    def get_urls(self):
        return [
            path("current/", self.admin_site.admin_view(self.current_view), name="ramp_qualityrubric_current"),
            *super().get_urls(),
        ]

    def current_view(self, request):
        """The rubric in force, for the card page's link: its newest version."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        current = QualityRubric.current()
        if current is None:
            self.message_user(request, "No quality rubric is written yet.", messages.WARNING)
            return redirect("admin:ramp_qualityrubric_changelist")
        return redirect("admin:ramp_qualityrubric_change", current.pk)


@admin.register(QualitySignoff)
class QualitySignoffAdmin(ReadOnlyAdmin):
    """The Head of Sales' page for the exit criteria: the state, the sign-offs, and the two acts, each with a confirm step."""

    change_list_template = "admin/ramp/qualitysignoff/change_list.html"
    list_display = ["signed_at", "signed_by", "rubric_version", "taxonomy_version", "tag_count"]

    @admin.display(description="tags")
    def tag_count(self, obj):
        return len(obj.taxonomy_tags)

    def changelist_view(self, request, extra_context=None):
        summary = services.quality_summary(policy=RampPolicy.get(), today=operating_date())
        extra_context = {
            **(extra_context or {}),
            "quality_state": quality_lines(summary),
            "may_sign_off": request.user.has_perm(SIGN_OFF_QUALITY),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path("sign/", self.admin_site.admin_view(self.sign_view), name="ramp_qualitysignoff_sign"),
            path("confirm-quality/", self.admin_site.admin_view(self.confirm_view), name="ramp_qualitysignoff_confirm"),
            *super().get_urls(),
        ]

    def _acting(self, request, *, title: str, what: list[str], button: str, act: Callable[[], str], extra: dict | None = None):
        """GET shows what will be recorded and asks to confirm; POST records it as the logged-in user (the one check is the service's)."""
        if not request.user.has_perm(SIGN_OFF_QUALITY):
            raise PermissionDenied
        back = reverse("admin:ramp_qualitysignoff_changelist")
        if request.method == "POST":
            return _button_to(self, request, act, back)
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET", "POST"])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "what": what,
            "button": button,
            "back": back,
            **(extra or {}),
        }
        return TemplateResponse(request, "admin/ramp/qualitysignoff/confirm.html", context)

    def sign_view(self, request):
        state = quality.signoff_state()
        rubric_version = request.POST.get("rubric_version", "")
        return self._acting(
            request,
            title="Sign off the quality rubric and rejection tags",
            what=[
                f"Quality rubric v{state.rubric.version}:" if state.rubric else "No quality rubric is written yet.",
                *(state.rubric.text.splitlines() if state.rubric else []),
                f"Rejection tags {state.taxonomy.version}: {', '.join(state.taxonomy.tags) or 'none'}",
            ],
            button="Sign off these versions",
            act=lambda: "Recorded: {}.".format(
                services.sign_off_quality(
                    by=_who(request),
                    rubric_version=int(rubric_version) if rubric_version.isdigit() else -1,
                    taxonomy_version=request.POST.get("taxonomy_version", ""),
                ).as_line()
            ),
            extra={
                "hidden": {"rubric_version": state.rubric.version if state.rubric else "", "taxonomy_version": state.taxonomy.version}
            },
        )

    def confirm_view(self, request):
        policy = RampPolicy.get()
        note = request.POST.get("note", "")
        return self._acting(
            request,
            title="Confirm copy quality is stable",
            what=[
                f"You confirm that the copy sent during the current clean streak at level {policy.graduation_level} "
                "meets the quality rubric and is stable: graduation may widen the ramp on it.",
            ],
            button="Confirm copy quality is stable",
            act=lambda: f"Recorded: {services.confirm_copy_quality(by=_who(request), note=note).as_line()}.",
            extra={"note_field": True},
        )


@admin.register(QualityConfirmation)
class QualityConfirmationAdmin(ReadOnlyAdmin):
    list_display = ["confirmed_at", "confirmed_by", "graduation_level", "streak_began", "note"]


def _button_to(model_admin: admin.ModelAdmin, request, action: Callable[[], str], back: str) -> HttpResponseRedirect:
    """Like `_button`, returning to `back`."""
    response = _button(model_admin, request, action)
    response["Location"] = back
    return response
