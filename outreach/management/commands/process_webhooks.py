from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from outreach.models import WebhookDelivery
from outreach.inbound.webhooks import process_pending, webhook_figures


class Command(BaseCommand):
    help = (
        "Apply stored GHL webhook deliveries whose processing failed earlier (each applies once). "
        f"A delivery that fails {WebhookDelivery.MAX_ATTEMPTS} times in all is quarantined: reported here and "
        "in the admin (Webhook deliveries, filter 'quarantined'), and no longer retried. Exits 1 only while "
        "a failing delivery still has attempts left."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="At most this many deliveries (default 500).")

    def handle(self, *args, **options):
        run = process_pending(limit=options["limit"])
        for pk, error in run.quarantined:
            self.stdout.write(f"Quarantined delivery {pk} after {WebhookDelivery.MAX_ATTEMPTS} attempts: {error}")
        figures = webhook_figures()
        self.stdout.write(
            f"{run.applied} deliveries applied, {len(run.failing)} still failing, "
            f"{len(run.quarantined)} quarantined now. In all: {figures['quarantined']} quarantined, "
            f"{figures['unstamped']} unstamped, {figures['refused']} refused, "
            f"{figures['opt_outs_without_lead']} opt-out(s) kept for an address with no lead."
        )
        if run.failing:
            ids = ", ".join(str(pk) for pk, _ in run.failing)
            raise CommandError(f"{len(run.failing)} webhook deliveries still fail ({ids}); they will be retried.")
