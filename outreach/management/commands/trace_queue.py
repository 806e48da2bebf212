"""`manage.py trace_queue`: what is in the queue, what is eligible, and what moved since the last trace."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from outreach.reports.queue_facts import take_trace
from ramp.cli import write_hold_banner, write_json


class Command(BaseCommand):
    help = (
        "Trace the queue: counts by status, tier, classifier, campaign and route; eligible versus held-back cards "
        "with their reason codes; and the drift since the last stored trace. Drift is what nobody explains: every "
        "change the product makes itself is explained and printed as such (cards drafted by run_pipeline, the "
        "redraft and the cadence tick; reviews, cleanup, claims, sends and reconcile, each a recorded card "
        "transition; verdicts the eligibility rules changed on cards that did not move, such as cards ageing into "
        "stale or a lead suppressed; a tier changed by a recorded lead edit). Only what is left can flag drift: a "
        "status, tier, classifier, campaign or route changed with no record, or a card that arrived by no drafting. "
        "Stores this trace. Exit 1 when drift is flagged."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--drift-threshold",
            type=int,
            default=1,
            help="Flag drift when any one count (a status, tier, classifier, campaign, route or verdict) differs by this "
            "many cards or more from what the explained changes since the last trace account for. Default 1: every "
            "card that changed with no recorded cause is drift. A higher value tolerates that many unexplained cards "
            "per count; it never hides a new tier, classifier, campaign or route.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON document and nothing else.")
        parser.add_argument("--no-store", action="store_true", help="Do not store this trace (the next one compares with the last stored).")
        parser.add_argument("--by", default="", help="Who runs it (stored with the trace).")

    def handle(self, *args, **options):
        if options["drift_threshold"] < 1:
            raise CommandError("--drift-threshold must be at least 1.")
        trace = take_trace(threshold=options["drift_threshold"], taken_by=options["by"], store=not options["no_store"])
        held_back = [
            {
                "card": v.card.pk,
                "lead": v.card.lead.email,
                "status": v.card.status,
                "reason": v.reason,
                "reasons": v.reasons,
                "details": v.details,
            }
            for v in trace.verdicts
            if not v.eligible
        ]
        if options["json"]:
            write_json(
                self,
                {
                    "counts": trace.counts,
                    "held_back": held_back,
                    "previous_trace_at": trace.previous_at,
                    "changes": trace.changes,
                    "explained": trace.explained,
                    "drift": trace.flags,
                },
            )
        else:
            self._write_human(trace, held_back, options["verbosity"])
        if trace.flags:
            raise CommandError(f"Queue drift flagged ({len(trace.flags)}): look before any live cycle.")

    def _write_human(self, trace, held_back, verbosity):
        write_hold_banner(self)
        counts = trace.counts
        self.stdout.write("By status:     " + _pairs(counts["by_status"]))
        self.stdout.write(f"Open cards (pending + approved): {counts['open']}")
        for label, key in (("By tier", "by_tier"), ("By classifier", "by_classifier"), ("By campaign", "by_campaign"), ("By route", "by_route")):
            self.stdout.write(f"{label + ':':<15}" + _pairs(counts[key]))
        self.stdout.write(
            f"Eligible: {counts['eligible']}; held back: {counts['held_back']} ({_pairs(counts['held_back_by_reason']) or 'none'})"
        )
        limit = None if verbosity >= 2 else 20
        for row in held_back[:limit]:
            self.stdout.write(
                f"  card {row['card']} {row['lead']} [{row['status']}] held back: {row['reason']} ({'; '.join(row['details'])})"
            )
        if limit and len(held_back) > limit:
            self.stdout.write(f"  … {len(held_back) - limit} more (-v 2 lists all)")
        if trace.previous_at is None:
            self.stdout.write("No earlier trace: this one is the baseline.")
        else:
            moved = ", ".join(f"{group} {_pairs(delta, signed=True)}" for group, delta in trace.changes.items()) or "nothing moved"
            self.stdout.write(f"Since {trace.previous_at:%Y-%m-%d %H:%M} UTC: {moved}")
            for line in trace.explained:
                self.stdout.write(f"  explained by {line}")
        for flag in trace.flags:
            self.stdout.write(self.style.ERROR(f"DRIFT: {flag}"))
        if not trace.flags:
            self.stdout.write(self.style.SUCCESS("No drift."))


def _pairs(counts: dict, signed: bool = False) -> str:
    return ", ".join(f"{key} {value:+d}" if signed else f"{key} {value}" for key, value in counts.items())
