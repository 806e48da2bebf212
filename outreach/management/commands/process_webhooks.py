from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from outreach.webhooks import process_pending


class Command(BaseCommand):
    help = "Apply stored GHL webhook deliveries whose processing failed earlier (each applies once)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="At most this many deliveries (default 500).")

    def handle(self, *args, **options):
        done, failed = process_pending(limit=options["limit"])
        self.stdout.write(f"{done} deliveries applied, {failed} still failing.")
        if failed:
            raise CommandError(f"{failed} webhook deliveries still fail; see the log and the Webhook deliveries admin.")
