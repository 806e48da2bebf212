from __future__ import annotations

from django.apps import AppConfig


class RampConfig(AppConfig):
    name = "ramp"

    def ready(self) -> None:
        # Registers the start-up checks (the operating time zone's).
        from ramp import checks  # noqa: F401
