from __future__ import annotations

from django.apps import AppConfig


class RampConfig(AppConfig):
    name = "ramp"
