"""`manage.py verify_sent`: check each sent card's message exists in the contact's GHL conversation."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging

from django.core.management.base import BaseCommand, CommandError

from outreach.sending.gates import active_hold_lines
from outreach.sending.reconcile import verify_sent


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--date must be YYYY-MM-DD, got {value!r}") from None


class Command(BaseCommand):
    help = (
        "For every card sent on an operating day (default: today), check that its message, found by "
        "the card's idempotency marker, exists in the contact's GHL conversation. Exits 1 if any is "
        "missing or GHL cannot be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", type=_date, help="Operating day, YYYY-MM-DD (default: today).")
        parser.add_argument("--json", action="store_true", help="Print one JSON document.")

    def handle(self, *args, **options):
        if not options["json"]:
            for line in active_hold_lines():
                self.stderr.write(self.style.ERROR(line))
        # One line a card: the GHL client's own request log (three reads a card) only with -v 2.
        quiet = options["verbosity"] < 2
        with _logger_level("ghl.client", logging.WARNING) if quiet else contextlib.nullcontext():
            report = verify_sent(options["date"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            for pk, detail in report.found:
                self.stdout.write(f"  found card {pk}: {detail}")
            for pk, detail in report.missing:
                self.stdout.write(self.style.ERROR(f"  MISSING card {pk}: {detail}"))
            for pk, detail in report.unreachable:
                self.stdout.write(self.style.WARNING(f"  UNCHECKED card {pk}: {detail}"))
            self.stdout.write(
                f"Summary for {report.date}: {report.checked} sent card(s) checked, {len(report.missing)} missing, "
                f"{len(report.unreachable)} unchecked."
            )
        if not report.ok:
            raise CommandError(
                f"{len(report.missing)} sent card(s) missing in GHL, {len(report.unreachable)} could not be checked."
            )


@contextlib.contextmanager
def _logger_level(name: str, level: int):
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)
