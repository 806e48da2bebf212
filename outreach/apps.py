from __future__ import annotations

from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"

    def ready(self) -> None:
        # Ramp's preflight judges the queue but never imports outreach: outreach
        # hands it the function that gathers the queue facts.
        from outreach.ops import queue_facts
        from ramp.preflight import register_facts_provider

        register_facts_provider(queue_facts)
