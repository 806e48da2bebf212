"""`manage.py run_pipeline`: enroll eligible leads of a source and draft their step-1 cards."""

from __future__ import annotations

from django.core.management.base import CommandError

from outreach.management.drafting_command import DraftingCommand
from outreach.drafting.pipeline import MODES, PipelineError, redraft, run_pipeline


class Command(DraftingCommand):
    help = (
        "Pick eligible leads of --source (the campaign's tier first; contactable, not excluded, not already "
        "enrolled), enroll them and draft step 1 of the campaign: template, canonical footer, compliance checks. "
        "Only cards that pass every check are created, as pending cards for review; the rest are reported as "
        "errors. Dry run by default (same code, rolled back): --apply writes. Without --campaign the one active "
        "campaign of an allowed ramp tier is used. --mode shadow drafts cards that can never be dispatched. "
        "Safe to run twice: an enrolled lead is never drafted again. --redraft instead drafts fresh copy for the "
        "leads of --source whose card cleanup rejected or whose open card is stale (never re-approving the old "
        "text): the new card is pending review and a stale open card is rejected as replaced. "
        "Exit 1 when any lead had an error."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="Lead source, e.g. wpromote.")
        parser.add_argument("--limit", type=int, required=True, help="Draft for at most this many eligible leads.")
        parser.add_argument("--mode", choices=MODES, default="production", help="shadow: never dispatched (default production).")
        parser.add_argument("--campaign", help="Campaign ref (required when several active campaigns could match).")
        parser.add_argument(
            "--redraft",
            action="store_true",
            help="Draft fresh copy for hygiene-rejected or stale cards' leads of --source instead of enrolling new leads.",
        )
        self.add_apply_and_json_arguments(parser)

    def handle(self, *args, **options):
        if options["redraft"]:
            return self._redraft(options)
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
        prefix = "" if report.applied else "Dry run: "
        lines = [f"{prefix}campaign {report.campaign_ref}, source {report.source}, mode {report.mode}"]
        lines += [f"  skipped {count}: {reason}" for reason, count in sorted(report.skipped.items())]
        self.emit(report, applied=report.applied, options=options, lines=lines, counts=f"{sum(report.skipped.values())} skipped")

    def _redraft(self, options) -> None:
        if options["campaign"] or options["mode"] != "production":
            raise CommandError("--redraft keeps each card's own campaign and mode: drop --campaign and --mode.")
        try:
            report = redraft(source=options["source"], limit=options["limit"], apply=options["apply"])
        except PipelineError as exc:
            raise CommandError(str(exc)) from None
        prefix = "" if report.applied else "Dry run: "
        lines = [f"{prefix}redraft for source {options['source']}"]
        lines += [
            f"  card {old}: replaced by new card {new}, pending review" if report.applied else f"  card {old}: would get fresh copy"
            for new, old in report.replaced.items()
        ]
        lines += [f"  skipped {count}: {reason}" for reason, count in sorted(report.skipped.items())]
        self.emit(report, applied=report.applied, options=options, lines=lines, counts=f"{sum(report.skipped.values())} skipped")
