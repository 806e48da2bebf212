"""`manage.py cleanup_queue`: reject the open cards that can never be sent as they are, with the hygiene tag."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from outreach.reports.queue_facts import cleanup
from ramp.cli import write_hold_banner, write_json


class Command(BaseCommand):
    help = (
        "Queue hygiene. Dry run by default: lists the pending/approved cards that can never be sent as they are "
        "and why (stale, suppressed or excluded lead, replied, mislabelled, step already sent). --apply rejects them "
        "with the queue_hygiene_non_actionable tag. Never deletes; never touches sent, rejected, queued or sending "
        "cards; safe while a cycle runs (a card claimed meanwhile is skipped)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="Reject the cards for real (default: dry run).")
        parser.add_argument("--max-age-hours", type=int, help="Stale after this many hours (default PENDING_QUEUE_MAX_AGE_HOURS).")
        parser.add_argument("--json", action="store_true", help="Print one JSON document and nothing else.")

    def handle(self, *args, **options):
        if options["max_age_hours"] is not None and options["max_age_hours"] < 1:
            raise CommandError("--max-age-hours must be at least 1.")
        result = cleanup(apply=options["apply"], max_age_hours=options["max_age_hours"])
        rows = [
            {
                "card": v.card.pk,
                "lead": v.card.lead.email,
                "status": v.card.status,
                "reason": v.reason,
                "reasons": v.reasons,
                "details": v.details,
            }
            for v in result.planned
        ]
        summary = (
            f"{len(result.rejected)} rejected, {len(result.skipped)} skipped (claimed or changed meanwhile)"
            if options["apply"]
            else f"Dry run: {len(result.planned)} card(s) would be rejected; run with --apply to reject them"
        )
        if options["json"]:
            write_json(
                self,
                {
                    "applied": options["apply"],
                    "cards": rows,
                    "rejected": [v.card.pk for v in result.rejected],
                    "skipped": [{"card": v.card.pk, "why": why} for v, why in result.skipped],
                    "summary": summary,
                },
            )
            return
        write_hold_banner(self)
        verb = "rejected" if options["apply"] else "would reject"
        for row in rows:
            self.stdout.write(
                f"card {row['card']} {row['lead']} [{row['status']}] {verb}, held back: {row['reason']} ({'; '.join(row['details'])})"
            )
        for view, why in result.skipped:
            self.stdout.write(self.style.WARNING(f"card {view.card.pk} skipped: {why}"))
        self.stdout.write(summary + ".")
