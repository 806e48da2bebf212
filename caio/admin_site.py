"""The project's admin site: Django's, with every changelist's query parameters checked before the changelist reads them.

Installed as the default site (caio.apps.CaioAdminConfig), so `admin.site` and
every `@admin.register` use it; see caio.params for the checks.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import admin

from caio.params import bad_request, changelist_problem, nul_problem


class CaioAdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        """Wrap `view` as Django does; inside the login check, answer a query parameter that cannot be used with a 400."""

        @wraps(view)
        def checked(request, *args, **kwargs):
            problem = nul_problem(request.GET) or self._changelist_problem(request)
            if problem:
                return bad_request(problem)
            return view(request, *args, **kwargs)

        return super().admin_view(checked, cacheable)

    def _changelist_problem(self, request) -> str | None:
        match = request.resolver_match
        if match is None or not (match.url_name or "").endswith("_changelist") or not request.GET:
            return None
        for model in self._registry:
            if match.url_name == f"{model._meta.app_label}_{model._meta.model_name}_changelist":
                return changelist_problem(model, request.GET) if model._meta.managed else None
        return None

