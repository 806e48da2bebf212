"""`manage.py daily_report`: the end-of-day numbers and a recommended decision."""

from __future__ import annotations

from django.core.management.base import BaseCommand

import datetime as dt

from outreach.reports.daily import daily_report
from ramp.cli import parse_date, write_hold_banner, write_json
from ramp.models import RampDay
from ramp.report import format_report
from ramp.services import day_verdict


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
        # The day as graduation judges it, in the words every other page uses: a day can be
        # recommended "continue" and still not count (a hold raised and cleared during it).
        day = RampDay.objects.filter(date=dt.date.fromisoformat(report["date"]), is_live=True).first()
        verdict = day_verdict(day).as_line() if day else f"{report['date']}: no live run, so it neither counts nor breaks the streak"
        if options["json"]:
            write_json(self, {**report, "graduation_verdict": verdict})
            return
        write_hold_banner(self)
        for line in format_report(report):
            self.stdout.write(line)
        self.stdout.write(f"For graduation: {verdict}")
