from __future__ import annotations

from django.apps import AppConfig


class GhlConfig(AppConfig):
    verbose_name = "GoHighLevel"
    name = "ghl"
