"""What run_pipeline and cadence_tick share: --apply/--json, the error list and the summary line."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from outreach.drafting.pipeline import DraftStats

# Errors listed one per line before the summary at normal verbosity; the rest are counted.
MAX_ERRORS_LISTED = 20
MAX_DRAFTS_LISTED = 50


class DraftingCommand(BaseCommand):
    # What an error is about, for the final line ("3 lead(s) could not be drafted").
    error_subject = "lead(s)"

    def add_apply_and_json_arguments(self, parser) -> None:
        parser.add_argument("--apply", action="store_true", help="Write enrollments and cards (default: dry run).")
        parser.add_argument("--json", action="store_true", help="Print one JSON document and nothing else.")

    def emit(self, report: DraftStats, *, applied: bool, options: dict, lines: list[str], counts: str) -> None:
        """Print the report (text or JSON) and raise CommandError (exit 1) when any item had an error."""
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            prefix = "" if applied else "Dry run: "
            for line in lines:
                self.stdout.write(line)
            # What it drafted, or in a dry run would draft: the lead and the step of each card.
            shown = report.drafted_for if options["verbosity"] >= 2 else report.drafted_for[:MAX_DRAFTS_LISTED]
            for line in shown:
                self.stdout.write(f"  {'drafted' if applied else 'would draft'} {line}")
            if len(report.drafted_for) > len(shown):
                self.stdout.write(f"  ... and {len(report.drafted_for) - len(shown)} more (use -v 2 to list all)")
            listed = report.errors if options["verbosity"] >= 2 else report.errors[:MAX_ERRORS_LISTED]
            for error in listed:
                self.stderr.write(f"  error lead {error.lead_id} {error.email} ({error.stage}): {error.message}")
            if len(report.errors) > len(listed):
                self.stderr.write(f"  ... and {len(report.errors) - len(listed)} more (use -v 2 to list all)")
            verb = "drafted" if applied else "would draft"
            tail = "" if applied else "; run with --apply to write them"
            self.stdout.write(f"{prefix}{len(report.drafted)} {verb}, {counts}, {len(report.errors)} errors{tail}.")
        if report.errors:
            raise CommandError(f"{len(report.errors)} {self.error_subject} could not be drafted; see the errors above.")
