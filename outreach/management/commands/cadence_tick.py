"""`manage.py cadence_tick`: draft the next step of every enrollment that is due."""

from __future__ import annotations

from outreach.drafting.cadence import cadence_tick
from outreach.management.drafting_command import DraftingCommand


class Command(DraftingCommand):
    help = (
        "Advance the cadences: stop enrollments whose lead replied, unsubscribed, bounced or is do-not-contact; "
        "draft step n+1 (template, canonical footer, compliance checks) for enrollments whose step n was sent "
        "at least the step's delay ago; complete finished sequences. Cards that fail a check are not created and "
        "are reported as errors. Dry run by default (same code, rolled back): --apply writes. The scheduled RQ job "
        "(outreach.jobs) runs the same function with --apply. Exit 1 when any enrollment had an error."
    )
    error_subject = "enrollment(s)"

    def add_arguments(self, parser):
        self.add_apply_and_json_arguments(parser)

    def handle(self, *args, **options):
        report = cadence_tick(apply=options["apply"])
        lines = [f"  stopped {count}: {reason}" for reason, count in sorted(report.stopped.items())]
        if options["verbosity"] >= 2:
            lines += [f"  waiting {count}: {reason}" for reason, count in sorted(report.skipped.items())]
        counts = (
            f"{sum(report.stopped.values())} stopped, {report.completed} completed, "
            f"{sum(report.skipped.values())} waiting"
        )
        self.emit(report, applied=report.applied, options=options, lines=lines, counts=counts)
