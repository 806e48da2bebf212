"""`manage.py cadence_tick`: draft the next step of every enrollment that is due."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from outreach.cadence import TickReport, cadence_tick

MAX_ERRORS_LISTED = 20


class Command(BaseCommand):
    help = (
        "Advance the cadences: stop enrollments whose lead replied, unsubscribed, bounced or is do-not-contact; "
        "draft step n+1 (template, canonical footer, compliance checks) for enrollments whose step n was sent "
        "at least the step's delay ago; complete finished sequences. Cards that fail a check are not created and "
        "are reported as errors. Dry run by default (same code, rolled back): --apply writes. The scheduled RQ job "
        "(outreach.jobs_cadence) runs the same function with --apply. Exit 1 when any enrollment had an error."
    )

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="Write cards and enrollment changes (default: dry run).")
        parser.add_argument("--json", action="store_true", help="Print one JSON document and nothing else.")

    def handle(self, *args, **options):
        report = cadence_tick(apply=options["apply"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self._write_text(report, verbosity=options["verbosity"])
        if report.errors:
            raise CommandError(f"{len(report.errors)} enrollment(s) could not be drafted; see the errors above.")

    def _write_text(self, report: TickReport, *, verbosity: int) -> None:
        prefix = "" if report.applied else "Dry run: "
        for reason, count in sorted(report.stopped.items()):
            self.stdout.write(f"  stopped {count}: {reason}")
        if verbosity >= 2:
            for reason, count in sorted(report.skipped.items()):
                self.stdout.write(f"  waiting {count}: {reason}")
        for error in report.errors[: MAX_ERRORS_LISTED if verbosity < 2 else None]:
            self.stderr.write(f"  error lead {error.lead_id} {error.email} ({error.stage}): {error.message}")
        if len(report.errors) > MAX_ERRORS_LISTED and verbosity < 2:
            self.stderr.write(f"  ... and {len(report.errors) - MAX_ERRORS_LISTED} more (use -v 2 to list all)")
        verb = "drafted" if report.applied else "would draft"
        tail = "" if report.applied else "; run with --apply to write them"
        self.stdout.write(
            f"{prefix}{len(report.drafted)} {verb}, {sum(report.stopped.values())} stopped, {report.completed} completed, "
            f"{sum(report.skipped.values())} waiting, {len(report.errors)} errors{tail}."
        )
