from __future__ import annotations

from django.apps import AppConfig


class CaioConfig(AppConfig):
    name = "caio"
    verbose_name = "CAIO"

    def ready(self) -> None:
        from caio import checks  # noqa: F401  (registers system checks)
