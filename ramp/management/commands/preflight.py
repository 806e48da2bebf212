"""`manage.py preflight`: the local gates before a live cycle, one row a check."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ramp.cli import write_hold_banner, write_json
from ramp.preflight import run_preflight


class Command(BaseCommand):
    help = (
        "Run the local gates before a live cycle: database and migrations, Redis and latency, dispatch workers, "
        "strict flags, GHL with the configured token, queue integrity, SLA backlog, deliverability, holds, ramp "
        "sanity. Records the run; a failure raises a hold and notifies Slack. Exit 1 on any failed check."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON document and nothing else.")
        parser.add_argument("--by", default="", help="Who runs it (recorded with the run).")

    def handle(self, *args, **options):
        run = run_preflight(ran_by=options["by"])
        failed = [row for row in run.results if not row["passed"]]
        if options["json"]:
            write_json(self, {"id": run.pk, "ran_at": run.ran_at, "passed": run.passed, "checks": run.results})
        else:
            for row in run.results:
                mark = self.style.SUCCESS("PASS") if row["passed"] else self.style.ERROR("FAIL")
                self.stdout.write(f"{row['id']} {mark} {row['name']:<42} {row['ms']:>7.1f} ms  {row['detail']}")
            self.stdout.write(f"Preflight #{run.pk}: {len(run.results) - len(failed)} of {len(run.results)} checks passed.")
            # After the rows, not before: a failure above raises a hold, and the banner then names it
            # (printed first, it would contradict the run's own "no active hold").
            write_hold_banner(self)
        if failed:
            raise CommandError(f"Preflight failed: {', '.join(row['id'] for row in failed)}. No live cycle until it passes.")
