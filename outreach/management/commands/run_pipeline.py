"""`manage.py run_pipeline`: enroll eligible leads of a source and draft their step-1 cards."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from outreach.pipeline import MODES, PipelineError, PipelineReport, run_pipeline

# Errors listed one per line before the summary; the rest are only counted.
MAX_ERRORS_LISTED = 20


class Command(BaseCommand):
    help = (
        "Pick eligible leads of --source (the campaign's tier first; contactable, not excluded, not already "
        "enrolled), enroll them and draft step 1 of the campaign: template, canonical footer, compliance checks. "
        "Only cards that pass every check are created, as pending cards for review; the rest are reported as "
        "errors. Dry run by default (same code, rolled back): --apply writes. Without --campaign the one active "
        "campaign of an allowed ramp tier is used. --mode shadow drafts cards that can never be dispatched. "
        "Safe to run twice: an enrolled lead is never drafted again. Exit 1 when any lead had an error."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="Lead source, e.g. wpromote.")
        parser.add_argument("--limit", type=int, required=True, help="Draft for at most this many eligible leads.")
        parser.add_argument("--mode", choices=MODES, default="production", help="shadow: never dispatched (default production).")
        parser.add_argument("--campaign", help="Campaign ref (required when several active campaigns could match).")
        parser.add_argument("--apply", action="store_true", help="Write enrollments and cards (default: dry run).")
        parser.add_argument("--json", action="store_true", help="Print one JSON document and nothing else.")

    def handle(self, *args, **options):
        try:
            report = run_pipeline(
                source=options["source"],
                limit=options["limit"],
                mode=options["mode"],
                campaign_ref=options["campaign"],
                apply=options["apply"],
            )
        except PipelineError as exc:
            raise CommandError(str(exc)) from None

        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self._write_text(report, verbosity=options["verbosity"])
        if report.errors:
            raise CommandError(f"{len(report.errors)} lead(s) could not be drafted; see the errors above.")

    def _write_text(self, report: PipelineReport, *, verbosity: int) -> None:
        prefix = "" if report.applied else "Dry run: "
        self.stdout.write(f"{prefix}campaign {report.campaign_ref}, source {report.source}, mode {report.mode}")
        for reason, count in sorted(report.skipped.items()):
            self.stdout.write(f"  skipped {count}: {reason}")
        for error in report.errors[: MAX_ERRORS_LISTED if verbosity < 2 else None]:
            self.stderr.write(f"  error lead {error.lead_id} {error.email} ({error.stage}): {error.message}")
        if len(report.errors) > MAX_ERRORS_LISTED and verbosity < 2:
            self.stderr.write(f"  ... and {len(report.errors) - MAX_ERRORS_LISTED} more (use -v 2 to list all)")
        verb = "drafted" if report.applied else "would draft"
        tail = "" if report.applied else "; run with --apply to write them"
        self.stdout.write(
            f"{prefix}{len(report.drafted)} {verb}, {sum(report.skipped.values())} skipped, "
            f"{len(report.errors)} errors{tail}."
        )
