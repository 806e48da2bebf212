from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CaioConfig(AppConfig):
    name = "caio"
    verbose_name = "CAIO"

    def ready(self) -> None:
        from caio import checks  # noqa: F401  (registers system checks)


class CaioAdminConfig(admin_apps.AdminConfig):
    """Django's admin, on our site (caio.admin_site), which checks every changelist's query parameters."""

    # Named in INSTALLED_APPS; not what "caio" alone means.
    default = False
    default_site = "caio.admin_site.CaioAdminSite"
