from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django_rq.admin import QueueAdmin
from django_rq.models import Dashboard

from caio.auth import may_open_rq_dashboard, rq_dashboard_urls
from caio.models import ApiToken, Deployment, GateRun


class ReadOnlyAdmin(admin.ModelAdmin):
    """For audit and history rows, written by the system only: nobody adds, edits or deletes them."""

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ApiTokenAddForm(forms.ModelForm):
    personal = forms.BooleanField(
        required=False,
        label="My personal token",
        help_text="Stands for you: your credentials for the ramp commands that record your acts (decisions, sign-offs). "
        "Leave unticked for a service token (smoke, scripts), which acts for nobody.",
    )

    class Meta:
        model = ApiToken
        fields = ["name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are listed by prefix only; the raw value is shown once, in a message, when issued.

    A personal token is issued only to the person logged in: nobody issues one in another's name.
    """

    list_display = ["name", "prefix", "user", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    readonly_fields = ["prefix", "user", "created_by", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "prefix", "user", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["rotate_tokens", "revoke_tokens"]

    @staticmethod
    def manages_tokens(request) -> bool:
        """Whether this person issues service tokens and sees, rotates and revokes everyone's (the Operator role)."""
        return request.user.has_perm("caio.change_apitoken")

    def get_queryset(self, request):
        tokens = super().get_queryset(request)
        # Someone with no token permission at all is refused by the admin's own checks (403);
        # filtering for them would turn some of those refusals into "not found".
        if self.manages_tokens(request) or not self.has_view_permission(request):
            return tokens
        return tokens.filter(user=request.user)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is not None:
            return self.fields
        # Without the Operator's rights the only token one may issue is one's own.
        return ["name", "personal"] if self.manages_tokens(request) else ["name"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            # Only the name is editable; the secret never changes in place.
            ApiToken.objects.filter(pk=obj.pk).update(name=obj.name)
            return
        personal = form.cleaned_data.get("personal") or not self.manages_tokens(request)
        user = request.user if personal else None
        token, raw = ApiToken.issue(obj.name, created_by=request.user.get_username(), user=user)
        obj.pk, obj.prefix, obj.token_hash, obj.created_by, obj.user = token.pk, token.prefix, token.token_hash, token.created_by, user
        self._show_once(request, token, raw)

    def _show_once(self, request, token: ApiToken, raw: str) -> None:
        kind = f"personal token of {token.user}" if token.user_id else "service token"
        messages.warning(
            request, f"New {kind} {token.name!r}: {raw} — copy it now; it is stored hashed and will not be shown again."
        )

    @admin.action(description="Rotate selected tokens (old ones stop working at once)", permissions=["change"])
    def rotate_tokens(self, request, queryset):
        rotated = 0
        for old in queryset:
            try:
                token, raw = old.rotate(created_by=request.user.get_username())
            except ValueError as exc:
                messages.error(request, str(exc))
                continue
            self._show_once(request, token, raw)
            rotated += 1
        messages.info(request, f"{rotated} token(s) rotated.")

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        revoked = sum(1 for token in queryset if token.revoke())
        messages.info(request, f"{revoked} token(s) revoked.")


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    """Versions recorded at start-up; graduation wants replay and smoke green since the newest."""

    list_display = ["version", "started_at"]


@admin.register(GateRun)
class GateRunAdmin(ReadOnlyAdmin):
    """Smoke and replay runs: a failed smoke of this instance blocks live cycles until one passes."""

    list_display = ["ran_at", "kind", "passed", "target", "this_instance", "summary", "version"]
    list_filter = ["kind", "passed", "this_instance"]


class RqDashboardAdmin(QueueAdmin):
    """django-rq's pages inside the admin, shown and served only to those who may open the RQ dashboard."""

    def has_module_permission(self, request) -> bool:
        return may_open_rq_dashboard(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return may_open_rq_dashboard(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return may_open_rq_dashboard(request.user)

    def get_urls(self):
        # The dashboard is no table: drop the stock add/change/delete/history pages
        # of its placeholder model (they would query a table that does not exist).
        stock = {f"django_rq_dashboard_{page}" for page in ("add", "change", "delete", "history")}
        return rq_dashboard_urls(
            [p for p in super().get_urls() if p.name not in stock and "object_id" not in str(p.pattern)]
        )


# Importing django_rq.admin above registered its own admin (caio's admin module
# loads first, by INSTALLED_APPS order); this one replaces it.
admin.site.unregister(Dashboard)
admin.site.register(Dashboard, RqDashboardAdmin)
