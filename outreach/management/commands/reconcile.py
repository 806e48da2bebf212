"""`manage.py reconcile`: settle `sending`/`unknown` cards against GHL, never by a blind resend."""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from outreach.sending.gates import active_hold_lines
from outreach.sending.reconcile import RECONCILE_GRACE, reconcile


class Command(BaseCommand):
    help = (
        "Settle cards whose send outcome is unknown (timeouts, 5xx) or that a worker left in "
        "`sending` (killed) by looking for each card's marker in the contact's GHL conversation: "
        "found -> sent; confirmed absent -> queued for one resend; GHL unreachable -> left as is "
        "(exit 1). Also re-enqueues queued cards whose job was lost. Dry run by default: reads GHL and "
        "lists what it would settle; --apply settles for real."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace-seconds",
            type=int,
            default=int(RECONCILE_GRACE.total_seconds()),
            help="Leave `unknown`/`sending`/`queued` cards changed more recently than this alone: a worker "
            "or GHL may still be on them (default: %(default)s).",
        )
        parser.add_argument("--apply", action="store_true", help="Settle the cards for real (default: dry run).")
        parser.add_argument("--json", action="store_true", help="Print one JSON document.")

    def handle(self, *args, **options):
        if options["grace_seconds"] < 0:
            raise CommandError("--grace-seconds must not be negative.")
        if not options["json"]:
            for line in active_hold_lines():
                self.stderr.write(self.style.ERROR(line))
        report = reconcile(apply=options["apply"], grace=timedelta(seconds=options["grace_seconds"]))
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            would = "" if report.applied else "would be "
            for pk in report.sent:
                self.stdout.write(f"  card {pk}: GHL has it -> {would}sent")
            for pk in report.requeued:
                self.stdout.write(f"  card {pk}: GHL confirms absent -> {would}queued again")
            for pk in report.reenqueued:
                self.stdout.write(f"  card {pk}: queued without progress -> job {would}enqueued again")
            for pk in report.has_job:
                self.stdout.write(f"  card {pk}: queued, its job is still in Redis -> left to it")
            for pk, reason in report.left:
                self.stdout.write(self.style.WARNING(f"  card {pk}: {reason}"))
            grace = options["grace_seconds"]
            for pk, status in report.waiting:
                self.stdout.write(f"  card {pk}: {status}, changed less than {grace} s ago -> left alone until the grace period ends")
            summary = (
                f"{len(report.sent)} {would}settled as sent, {len(report.requeued)} {would}re-queued, "
                f"{len(report.reenqueued)} {would}re-enqueued ({len(report.has_job)} still have a job), "
                f"{len(report.left)} could not be settled, "
                f"{len(report.waiting)} in flight within the {grace} s grace period (run reconcile again after it)."
            )
            if report.applied:
                self.stdout.write(f"Summary: {summary}")
            else:
                self.stdout.write(f"Dry run: {summary} Run with --apply to settle them.")
        if report.left:
            raise CommandError(f"{len(report.left)} card(s) could not be settled; run reconcile again later.")
