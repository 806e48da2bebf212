from __future__ import annotations

from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"

    def ready(self) -> None:
        # Jobs queued before outreach's entry points moved into outreach.jobs still name their old modules.
        from outreach.jobs import keep_old_module_paths_importable

        keep_old_module_paths_importable()

        # The Head of Sales' quality sign-off names the rejection tags' version; ramp reads it from outreach here.
        from outreach.review import rejection_taxonomy
        from ramp.quality import register_taxonomy_provider

        register_taxonomy_provider(rejection_taxonomy)

        # Ramp's preflight judges the queue but never imports outreach: outreach
        # hands it the function that gathers the queue facts.
        from compliance.impact import register_impact_provider
        from compliance.services import register_rules_changed_hook
        from outreach.reports.queue_facts import queue_facts
        from outreach.rule_changes import impact, rules_changed
        from ramp.preflight import register_facts_provider

        register_facts_provider(queue_facts)

        # A saved lead or campaign takes back the approvals its change breaks.
        from django.db.models.signals import post_save

        from outreach.approval import reopen_after_save
        from outreach.models import Campaign, Lead

        post_save.connect(reopen_after_save, sender=Lead, dispatch_uid="approval-lead")
        post_save.connect(reopen_after_save, sender=Campaign, dispatch_uid="approval-campaign")
        # Compliance never imports outreach either: its rule preview asks outreach
        # which cards a rule hits, and every rule write (compliance.services) has
        # outreach refresh the open cards' snapshots.
        register_impact_provider(impact)
        register_rules_changed_hook(rules_changed)
