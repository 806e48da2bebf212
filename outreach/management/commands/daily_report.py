"""`manage.py daily_report`: the end-of-day numbers and a recommended decision."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from outreach.reports.daily import daily_report
from ramp.cli import parse_date, write_hold_banner, write_json
from ramp.report import format_report


class Command(BaseCommand):
    help = (
        "End-of-day report for a date (default today, operating time zone): approved, rejected by tag, sent, KPIs "
        "(opens, replies, bounces, unsubscribes, complaints, meetings), top 3 rejection reasons, anomalies and a "
        "recommended decision. Runs the stop conditions (raising holds) and stores the report on the ramp day."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The operating day, YYYY-MM-DD (or today/yesterday).")
        parser.add_argument("--json", action="store_true", help="Print one JSON document and nothing else.")

    def handle(self, *args, **options):
        report = daily_report(parse_date(options["date"]))
        if options["json"]:
            write_json(self, report)
            return
        write_hold_banner(self)
        for line in format_report(report):
            self.stdout.write(line)
