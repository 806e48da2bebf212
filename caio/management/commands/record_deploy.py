"""`manage.py record_deploy`: record the running code's version as this instance's latest deploy."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from caio.releases import record_start


class Command(BaseCommand):
    help = (
        "Record the code's version (CAIO_VERSION, else a digest of the source) as a new deploy when it differs from "
        "the last one recorded; a restart of the same code records nothing. The release role and the demo run it at "
        "start-up. Graduation then needs a passed `replay` and `smoke` of this instance since that deploy."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-version", dest="code_version", help="Record this version instead of the code's own.")

    def handle(self, *args, **options):
        deploy, new = record_start(options["code_version"])
        if new:
            self.stdout.write(
                f"Deploy of {deploy.version} recorded at {deploy.started_at:%Y-%m-%d %H:%M} UTC: "
                "replay and smoke must pass again before graduation."
            )
        else:
            self.stdout.write(f"{deploy.version} is running since {deploy.started_at:%Y-%m-%d %H:%M} UTC: nothing new to record.")
