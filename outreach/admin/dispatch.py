"""The dispatch console: today's gates, the dry run, and the live-cycle button.

Operators only (permission `outreach.run_live_cycle`, checked on every view,
not just hidden). The confirm is POST-only and calls the same
`live_gates` and `start_live_cycle` as `manage.py dispatch --live`, so the
gates (the in-process preflight included) are the same.
Also adds a read-only list of dispatch attempts to the card page.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from outreach.sending import gates, select
from outreach.admin.cards import PendingEmailAdmin
from outreach.models import CardStatus, DispatchAttempt, DispatchConsole, PendingEmail
from ramp.days import operating_date
from ramp.models import RampDay


class DispatchAttemptInline(admin.TabularInline):
    """Every try at sending the card, newest first: what the operator checks after a cycle."""

    model = DispatchAttempt
    extra = 0
    can_delete = False
    fields = ["started_at", "finished_at", "outcome", "http_status", "error", "worker"]
    readonly_fields = fields
    verbose_name_plural = "dispatch attempts"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# The review desk owns the card page; the attempts ride along without touching it.
if DispatchAttemptInline not in PendingEmailAdmin.inlines:
    PendingEmailAdmin.inlines = [*PendingEmailAdmin.inlines, DispatchAttemptInline]


@admin.register(DispatchConsole)
class DispatchConsoleAdmin(admin.ModelAdmin):
    """The console page; it has no list or form of its own."""

    def _allowed(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.has_perm(gates.LIVE_CYCLE_PERMISSION)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("confirm/", self.admin_site.admin_view(self.confirm_view), name="%s_%s_confirm" % info),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        if not self._allowed(request):
            raise PermissionDenied
        limit = _limit_from(request.GET.get("limit"))
        plan = select.dry_run(limit=limit)
        today = operating_date()
        day = RampDay.objects.filter(date=today).first()
        in_flight = {
            status: PendingEmail.objects.filter(status=status).count()
            for status in sorted(CardStatus.IN_FLIGHT)
        }
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Dispatch console",
            "plan": plan,
            "day": day,
            "holds": gates.active_hold_lines(),
            "in_flight": in_flight,
            "limit": limit,
            "confirm_url": reverse("admin:outreach_dispatchconsole_confirm"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/outreach/dispatch/console.html", context)

    @staticmethod
    def _back(request: HttpRequest) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:outreach_dispatchconsole_changelist"))

    def confirm_view(self, request: HttpRequest):
        return require_POST(self._confirm)(request)

    def _confirm(self, request: HttpRequest):
        if not self._allowed(request):
            raise PermissionDenied
        try:
            limit = _limit_from(request.POST.get("limit"), strict=True)
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return self._back(request)
        # The same gates as `manage.py dispatch --live`, in-process preflight included.
        checked = gates.live_gates(operator=request.user)
        if checked.preflight_note:
            self.message_user(request, checked.preflight_note, messages.INFO)
        try:
            result = select.start_live_cycle(operator=request.user, limit=limit)
        except gates.DispatchRefused as exc:
            self.message_user(request, "Live cycle refused: " + " ".join(exc.reasons), messages.ERROR)
            return self._back(request)
        except select.EnqueueFailed as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return self._back(request)
        claimed = PendingEmail.objects.filter(pk__in=[line.pk for line in result.claimed])
        if claimed:
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=claimed,
                action_flag=CHANGE,
                change_message=f"Claimed by the live cycle of {request.user.get_username()}",
                single_object=False,
            )
        self.message_user(
            request,
            f"Claimed {len(result.claimed)} card(s) for {result.date}: {result.dispatched_after} of {result.cap} "
            "dispatched today. The workers send them now.",
            messages.SUCCESS,
        )
        return self._back(request)


def _limit_from(raw: str | None, *, strict: bool = False) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        if strict:
            raise ValueError(f"The limit must be a whole number of at least 1, got {raw!r}; nothing was dispatched.")
        return None
    return value
