"""`manage.py await_migrations`: wait until the release has applied this code's migrations."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from caio.releases import unapplied_migrations


class Command(BaseCommand):
    help = (
        "Wait until the database holds every migration of this code, then exit 0. Every long-running role (web, "
        "worker, scheduler) runs it first, so new code never serves or sends on the old schema while the release "
        "role migrates: platforms such as Railway start a deploy's services at once. Exit 1 after --timeout seconds, "
        "naming the migrations still missing or why the database could not be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=300, help="Seconds to wait (default 300).")
        parser.add_argument("--interval", type=float, default=2, help="Seconds between looks (default 2).")

    def handle(self, *args, **options):
        deadline = time.monotonic() + options["timeout"]
        said = ""
        while True:
            try:
                missing = unapplied_migrations()
            except DatabaseError as exc:
                # The database may still be starting beside us: keep looking until the deadline.
                problem = f"the database cannot be read ({exc.__class__.__name__}: {str(exc).strip().splitlines()[0][:200]})"
            else:
                if not missing:
                    if said:
                        self.stdout.write("Migrations applied: starting.")
                    return
                problem = f"{len(missing)} migration(s) not applied yet: {', '.join(missing[:5])}"
            if time.monotonic() >= deadline:
                raise CommandError(
                    f"Gave up after {options['timeout']:.0f} s: {problem}. Run the release role "
                    "(`bin/role release`: migrations and checks) before this one."
                )
            if problem != said:
                self.stdout.write(f"Waiting for the release role: {problem}.")
                said = problem
            time.sleep(options["interval"])
