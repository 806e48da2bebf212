"""`manage.py replay`: run the recorded cases against the rules; exit non-zero below the pass rate."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from caio.models import GateRun
from caio.releases import record_gate_run
from outreach.reports import replay
from ramp.cli import parse_date, write_hold_banner

# The runbook's regression gate: the recorded cases at this pass rate or stricter.
GATE_PASS_RATE = 0.95


class Command(BaseCommand):
    help = (
        "Deterministic replay: each recorded case (JSON under replay_cases/) builds its world on its own throwaway "
        "SQLite database (the live database is only read, by --record), answers GHL from the in-process sandbox, "
        "runs the rules with a fixed clock and compares check verdicts, queue classification, stop conditions, "
        "gates, the dispatch dry run and ramp counters with the expected outcomes. Prints each case "
        "and the pass rate; exit 1 below --min-pass-rate. `--record --date D` writes the day as a new case file. "
        "Each run is recorded; a run over replay_cases/ at a pass rate of 0.95 or stricter is the runbook's gate, "
        "which graduation needs passed since the last deploy."
    )

    def add_arguments(self, parser):
        parser.add_argument("--min-pass-rate", type=float, default=0.95, help="Fail below this share of passing cases (default 0.95).")
        parser.add_argument("--cases", type=Path, default=replay.DEFAULT_CASES_DIR, help="The case directory (default replay_cases/).")
        parser.add_argument("--record", action="store_true", help="Capture a day from the database as a new case file.")
        parser.add_argument("--date", help="With --record: the operating day, YYYY-MM-DD.")
        parser.add_argument("--name", help="With --record: the case name (default recorded-<date>).")

    def handle(self, *args, **options):
        if options["record"]:
            return self._record(options)
        rate_floor = options["min_pass_rate"]
        if not 0 <= rate_floor <= 1:
            raise CommandError("--min-pass-rate must be between 0 and 1.")
        try:
            results = replay.run_all(options["cases"])
        except replay.CaseError as exc:
            raise CommandError(str(exc)) from None
        if not results:
            raise CommandError(f"No case in {options['cases']}: nothing was replayed.")
        write_hold_banner(self)
        for result in results:
            if result.passed:
                self.stdout.write(f"{self.style.SUCCESS('PASS')} {result.path}: {result.name}")
                continue
            self.stdout.write(f"{self.style.ERROR('FAIL')} {result.path}: {result.name}")
            for line in ([result.error] if result.error else []) + result.mismatches:
                self.stdout.write(f"     {line}")
        passed = sum(1 for r in results if r.passed)
        rate = passed / len(results)
        summary = f"Pass rate {rate:.2f} ({passed}/{len(results)}), required {rate_floor:.2f}"
        self.stdout.write(f"{summary}.")
        is_gate = Path(options["cases"]).resolve() == Path(replay.DEFAULT_CASES_DIR).resolve() and rate_floor >= GATE_PASS_RATE
        record_gate_run(GateRun.Kind.REPLAY, passed=rate >= rate_floor, target=str(options["cases"]), summary=summary, this_instance=is_gate)
        if rate < rate_floor:
            raise CommandError(f"Replay pass rate {rate:.2f} is below {rate_floor:.2f}: do not ship.")

    def _record(self, options):
        date = parse_date(options["date"])
        if date is None:
            raise CommandError("--record needs --date YYYY-MM-DD.")
        name = options["name"] or f"recorded-{date}"
        directory: Path = options["cases"]
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.json"
        if path.exists():
            raise CommandError(f"{path.name} already exists: pick another --name.")
        case = replay.record_day(date, name=name)
        path.write_text(json.dumps(case, indent=2) + "\n", encoding="utf-8")
        self.stdout.write(f"Recorded {len(case['cards'])} card(s) for {date} into {path.name}.")
