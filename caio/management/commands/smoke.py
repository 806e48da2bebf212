"""`manage.py smoke`: check a deployed instance over HTTP (one, or a matrix of environments)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from caio.config import missing_database
from caio.models import GateRun
from caio.releases import is_this_instance, record_gate_run
from caio.smoke import run_smoke

# Environments read from the environment when --matrix has no --env.
MATRIX_ENV = {"staging": ("CAIO_STAGING_URL", "CAIO_STAGING_TOKEN"), "production": ("CAIO_PROD_URL", "CAIO_PROD_TOKEN")}


class Command(BaseCommand):
    help = (
        "Smoke-test a deployed instance: health, readiness, 401 without a token, 200 with it, the pending-emails "
        "payload. One instance: --base-url URL with --token T or --token-env VAR (keeps the token out of the "
        "process list). Several: --matrix with --env NAME=URL,TOKEN (repeatable) or CAIO_STAGING_URL/"
        "CAIO_STAGING_TOKEN and CAIO_PROD_URL/CAIO_PROD_TOKEN. The token is never printed. Exit 1 on any failure. "
        "Run where this instance's database is configured, each result is recorded: a failed smoke of this instance "
        "(its PUBLIC_BASE_URL, or its CAIO_ENVIRONMENT's name in a matrix) blocks live cycles until a later smoke "
        "passes, and graduation needs a passed one since the last deploy."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", help="The instance, e.g. https://caio.example.com")
        parser.add_argument("--token", help="An API token for the instance.")
        parser.add_argument("--token-env", help="Read the token from this environment variable instead.")
        parser.add_argument("--matrix", action="store_true", help="Check several named environments.")
        parser.add_argument("--env", action="append", default=[], metavar="NAME=URL,TOKEN", help="One environment of the matrix.")

    def handle(self, *args, **options):
        targets = self._targets(options)
        failed_envs = []
        blocks_here = False
        for name, url, token in targets:
            rows = run_smoke(url, token)
            label = f"[{name}] " if options["matrix"] else ""
            for row in rows:
                mark = self.style.SUCCESS("PASS") if row.passed else self.style.ERROR("FAIL")
                self.stdout.write(f"{label}{row.id} {mark} {row.name}: {row.detail}")
            failures = [row for row in rows if not row.passed]
            summary = f"{len(rows) - len(failures)} of {len(rows)} checks passed"
            if failures:
                summary += " (failed: " + ", ".join(f"{row.id} {row.name}" for row in failures) + ")"
            self.stdout.write(f"{label}{url}: {len(rows) - len(failures)} of {len(rows)} checks passed.")
            this = self._record(url, passed=not failures, summary=summary, environment=name if options["matrix"] else "")
            if failures:
                failed_envs.append(name)
                blocks_here = blocks_here or this
        if failed_envs:
            # Only a failure recorded as this instance's own blocks its live cycles.
            raise CommandError(
                f"Smoke failed for {', '.join(failed_envs)}"
                + (": no live cycle here until it passes." if blocks_here else ".")
            )

    def _record(self, url: str, *, passed: bool, summary: str, environment: str) -> bool:
        """Record the result in this instance's database, when this shell has one (smoke also runs from CI without).

        Return whether it was recorded as this instance's own smoke (the one that gates its live cycles).
        """
        problem = missing_database(settings.DATABASES["default"], ["manage.py", "record-smoke"])
        if problem is None:
            this = is_this_instance(url, environment=environment)
            try:
                record_gate_run(GateRun.Kind.SMOKE, passed=passed, target=url, summary=summary, this_instance=this)
            except DatabaseError as exc:
                problem = f"the database cannot be written ({exc.__class__.__name__})"
            else:
                whose = "this instance's smoke." if this else "another instance's smoke (it gates nothing here)."
                self.stdout.write(f"Recorded as {whose}")
                return this
        self.stdout.write(
            f"Not recorded: {problem.rstrip('.')}. To gate an instance, run smoke inside it "
            "(a shell in its web service: `python manage.py smoke ...`)."
        )
        return False

    def _targets(self, options) -> list[tuple[str, str, str]]:
        if not options["matrix"]:
            if not options["base_url"]:
                raise CommandError("Give --base-url URL (or --matrix).")
            # Named by its URL, so a failure reads "Smoke failed for https://…", not "for instance".
            return [(options["base_url"], options["base_url"], self._token(options))]
        targets = []
        for spec in options["env"]:
            name, sep, rest = spec.partition("=")
            url, comma, token = rest.partition(",")
            if not sep or not comma or not name or not url or not token:
                raise CommandError(f"--env must look like NAME=URL,TOKEN; got one for {name or '?'!r} that does not.")
            targets.append((name, url, token))
        if not targets:
            for name, (url_var, token_var) in MATRIX_ENV.items():
                url, token = os.environ.get(url_var, ""), os.environ.get(token_var, "")
                if url and token:
                    targets.append((name, url, token))
                elif url or token:
                    raise CommandError(f"Set both {url_var} and {token_var} for {name} (one is missing).")
        if not targets:
            raise CommandError("No environment to check: give --env NAME=URL,TOKEN or set CAIO_STAGING_URL/CAIO_STAGING_TOKEN, CAIO_PROD_URL/CAIO_PROD_TOKEN.")
        return targets

    def _token(self, options) -> str:
        if options["token_env"]:
            token = os.environ.get(options["token_env"], "")
            if not token:
                raise CommandError(f"The environment variable {options['token_env']} is empty or not set.")
            return token
        if not options["token"]:
            raise CommandError("Give --token T or --token-env VAR.")
        return options["token"]
