"""`manage.py dispatch`: dry run by default; `--live` runs a supervised send cycle."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from outreach.sending.gates import DispatchRefused, active_hold_lines, live_gates
from outreach.sending.select import DispatchPlan, EnqueueFailed, dry_run, start_live_cycle


class Command(BaseCommand):
    help = (
        "Show what a send cycle would dispatch now and why every other approved card would not "
        "(dry run, the default). With --live --operator NAME, claim up to today's remaining cap "
        "and hand the cards to the dispatch workers. --live refuses without a fresh passed "
        "preflight (it runs one in-process when it can), with an active hold, or for a user "
        "without the live-cycle permission."
    )

    def add_arguments(self, parser):
        parser.add_argument("--live", action="store_true", help="Really dispatch (default: dry run, nothing changes).")
        parser.add_argument("--operator", metavar="USERNAME", help="The operator who owns the live cycle (required with --live).")
        parser.add_argument("--limit", type=int, metavar="N", help="Claim at most N cards (never more than the cap allows).")
        parser.add_argument("--noinput", "--no-input", action="store_true", help="Do not ask for confirmation.")
        parser.add_argument("--json", action="store_true", help="Print one JSON document (implies --noinput with --live).")

    def handle(self, *args, **options):
        limit = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be a whole number of at least 1.")
        as_json = options["json"]
        if not as_json:
            for line in active_hold_lines():
                self.stderr.write(self.style.ERROR(line))
        if not options["live"]:
            if options["operator"]:
                raise CommandError("--operator only makes sense with --live.")
            plan = dry_run(limit=limit)
            if as_json:
                self.stdout.write(json.dumps({"mode": "dry-run", **plan.as_dict()}, indent=2))
            else:
                self._print_plan(plan, heading="DRY RUN: nothing is sent.")
            return None
        return self._live(options, limit=limit, as_json=as_json)

    def _live(self, options, *, limit, as_json):
        username = options["operator"]
        if not username:
            raise CommandError("--live needs --operator USERNAME: the go/no-go owner of this cycle.")
        User = get_user_model()
        try:
            operator = User.objects.get(**{User.USERNAME_FIELD: username}, is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"No active user named {username!r}.") from None

        gates = live_gates(operator=operator)
        if gates.preflight_note and not as_json:
            self.stdout.write(gates.preflight_note)
        plan = dry_run(limit=limit)
        if not as_json:
            self._print_plan(plan, heading=f"LIVE cycle for {username}.")
        if not (options["noinput"] or as_json) and not plan.blockers and plan.would_send:
            answer = input(f"Send {len(plan.would_send)} email(s) now? Type 'yes' to continue: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Cancelled: nothing was dispatched.")
        try:
            result = start_live_cycle(operator=operator, limit=limit)
        except DispatchRefused as exc:
            raise CommandError("Live cycle refused:\n" + "\n".join(f"  - {reason}" for reason in exc.reasons)) from None
        except EnqueueFailed as exc:
            raise CommandError(str(exc)) from None
        if as_json:
            self.stdout.write(json.dumps({"mode": "live", **result.as_dict()}, indent=2))
        else:
            for line in result.claimed:
                self.stdout.write(f"  queued  {line.email}  {line.subject}")
            self.stdout.write(
                self.style.SUCCESS(
                    f"Claimed {len(result.claimed)} card(s) for {result.date}: "
                    f"{result.dispatched_after} of {result.cap} dispatched today. Workers send them now."
                )
            )
        return None

    def _print_plan(self, plan: DispatchPlan, *, heading: str) -> None:
        self.stdout.write(heading)
        self.stdout.write(
            f"Operating day {plan.date}: cap {plan.cap}, already claimed {plan.dispatched_count}, remaining {plan.remaining}."
        )
        if plan.blockers:
            self.stdout.write(self.style.ERROR("Gates are red, nothing would be sent now:"))
            for blocker in plan.blockers:
                self.stdout.write(f"  - {blocker}")
            if plan.selected:
                self.stdout.write(f"Would send once the gates are green ({len(plan.selected)}):")
        else:
            self.stdout.write(f"Would send now ({len(plan.would_send)}):")
        for line in plan.selected:
            self.stdout.write(f"  {line.email:40}  {line.tier:7} {line.subject}")
        self.stdout.write(f"Held back ({len(plan.held_back)}):")
        for line in plan.held_back:
            self.stdout.write(f"  {line.email:40}  held back: {line.verdict} ({'; '.join(line.reasons)})")
        self.stdout.write(
            f"Summary: {len(plan.would_send)} would be sent, {len(plan.held_back)} held back, "
            f"{len(plan.blockers)} gate(s) red."
        )
