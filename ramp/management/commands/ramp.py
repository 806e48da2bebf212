"""`manage.py ramp status|graduate|hold|clear|decide|signoff|confirm-quality`: the ramp, its holds and the
Head of Sales' exit-criteria records from the terminal."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ramp import services
from ramp.cli import parse_date, write_hold_banner, write_json
from ramp.models import QualityRubric, RampDay


class Command(BaseCommand):
    help = (
        "Ramp state and holds. `status` shows the policy, today, holds, graduation and live-cycle blockers; "
        "`graduate` shows whether graduation is allowed (add --apply to graduate); `hold` raises a hold at once; "
        "`clear` clears holds (a name and a reason are required); `decide` records the day's continue/hold/rollback; "
        "`signoff` records the Head of Sales' sign-off of the quality rubric and rejection tags; "
        "`confirm-quality` records the Head of Sales' confirmation that copy quality is stable in this clean streak."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="status|graduate|hold|clear|decide|signoff|confirm-quality")
        status = sub.add_parser("status", help="Show the ramp state.")
        status.add_argument("--json", action="store_true", help="Print one JSON document.")

        graduate = sub.add_parser("graduate", help="Review graduation; --apply moves the cap one step up.")
        graduate.add_argument("--by", default="", help="Who graduates (required with --apply).")
        graduate.add_argument("--apply", action="store_true", help="Graduate for real (default: dry run).")

        hold = sub.add_parser("hold", help="Raise a hold: nothing is sent until a person clears it.")
        hold.add_argument("--reason", required=True, help="Why sends must stop.")
        hold.add_argument("--by", required=True, help="Who raises the hold.")

        clear = sub.add_parser("clear", help="Clear a hold (or --all active holds).")
        which = clear.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", type=int, dest="hold_id", help="The hold number (see `ramp status`).")
        which.add_argument("--all", action="store_true", help="Clear every active hold.")
        clear.add_argument("--reason", required=True, help="Why it is safe to send again.")
        clear.add_argument("--by", required=True, help="Who clears it.")

        decide = sub.add_parser(
            "decide",
            help="Record a live day's decision. continue: nothing changes. hold: raise a hold. "
            "rollback: the cap goes back one step, the clean-day streak restarts and a hold is raised.",
        )
        decide.add_argument("decision", choices=RampDay.Decision.values, help="continue, hold or rollback.")
        decide.add_argument("--by", required=True, help="Who decides (the go/no-go owner).")
        decide.add_argument("--reason", default="", help="Why (required for hold and rollback).")
        decide.add_argument("--date", help="The live day (YYYY-MM-DD); default: the latest live day without a decision.")

        signoff = sub.add_parser(
            "signoff",
            help="The Head of Sales signs off the current quality rubric and rejection tags: shows them; --apply records it.",
        )
        signoff.add_argument("--by", required=True, help="The Head of Sales (a user with ramp.sign_off_quality).")
        signoff.add_argument("--apply", action="store_true", help="Record the sign-off (default: show what would be signed).")

        confirm = sub.add_parser(
            "confirm-quality",
            help="The Head of Sales confirms copy quality is stable during the current clean streak; --apply records it.",
        )
        confirm.add_argument("--by", required=True, help="The Head of Sales (a user with ramp.sign_off_quality).")
        confirm.add_argument("--note", default="", help="What the confirmation rests on (optional).")
        confirm.add_argument("--apply", action="store_true", help="Record the confirmation (default: dry run).")

    def handle(self, *args, **options):
        action = options["action"].replace("-", "_")
        try:
            return getattr(self, f"do_{action}")(options)
        except services.RampError as exc:
            raise CommandError(str(exc)) from None

    def do_status(self, options):
        state = services.status()
        if options["json"]:
            write_json(self, state)
            return
        write_hold_banner(self)
        policy, today, grad = state["policy"], state["today"], state["graduation"]
        self.stdout.write(
            f"Ramp: level {policy['graduation_level']}, cap {policy['current_cap']}/day "
            f"(per company {policy['per_company_daily_cap']}), "
            f"tiers {', '.join(f'{tier} up to {cap}' for tier, cap in policy['tier_caps'].items())}, window {policy['window']}"
        )
        if today.get("is_live"):
            self.stdout.write(
                f"Today {today['date']}: live, {today['dispatched']}/{today['cap']} dispatched, {today['sent']} sent, "
                f"{today['errors']} errors, decision {today['decision'] or '-'}"
            )
        else:
            self.stdout.write(f"Today {today['date']}: no live cycle yet")
        self.stdout.write("Stop conditions:")
        for line in state["stop_settings"]:
            self.stdout.write(f"  - {line}")
        self.stdout.write(f"Clean days counted: {', '.join(grad['clean_days']) or 'none'}")
        self._write_quality(state["quality"])
        if grad["allowed"]:
            self.stdout.write(self.style.SUCCESS("Graduation: allowed (`ramp graduate --apply --by NAME`)"))
        else:
            self.stdout.write("Graduation: not yet — " + "; ".join(grad["reasons"]))
        if state["live_cycle_blockers"]:
            self.stdout.write(self.style.WARNING("A live cycle may not run now:"))
            for blocker in state["live_cycle_blockers"]:
                self.stdout.write(f"  - {blocker}")
        else:
            self.stdout.write(self.style.SUCCESS("A live cycle may run now."))

    def _write_quality(self, summary: dict) -> None:
        rubric = f"v{summary['rubric_version']}" if summary["rubric_version"] else "none written"
        self.stdout.write(
            f"Quality rubric {rubric}; rejection tags {summary['taxonomy_version']} ({len(summary['taxonomy_tags'])} tags)"
        )
        for label, line, current in (
            ("Sign-off", summary["signoff"], summary["signoff_current"]),
            ("Copy quality", summary["confirmation"], summary["confirmation_current"]),
        ):
            shown = line or "none recorded"
            self.stdout.write(f"{label}: {shown}" + ("" if current else self.style.WARNING(" (does not count)")))

    def do_signoff(self, options):
        signoff = services.sign_off_quality(by=options["by"], apply=options["apply"])
        rubric = QualityRubric.objects.get(version=signoff.rubric_version)
        self.stdout.write(f"Quality rubric v{rubric.version}:")
        for line in rubric.text.splitlines():
            self.stdout.write(f"  {line}")
        self.stdout.write(f"Rejection tags {signoff.taxonomy_version}: {', '.join(signoff.taxonomy_tags)}")
        self._recorded(signoff.as_line(), options["apply"])

    def do_confirm_quality(self, options):
        confirmation = services.confirm_copy_quality(by=options["by"], note=options["note"], apply=options["apply"])
        self._recorded(confirmation.as_line(), options["apply"])

    def _recorded(self, line: str, applied: bool) -> None:
        if applied:
            self.stdout.write(self.style.SUCCESS(f"Recorded: {line}."))
        else:
            self.stdout.write(f"Dry run, nothing recorded: {line}. Add --apply to record it.")

    def do_graduate(self, options):
        write_hold_banner(self)
        if not options["apply"]:
            review = services.graduation_review()
            if review.allowed:
                self.stdout.write(self.style.SUCCESS("Graduation is allowed. Dry run: add --apply --by NAME to graduate."))
                return
            raise CommandError("Graduation refused: " + "; ".join(review.reasons))
        policy = services.graduate(by=options["by"])
        self.stdout.write(
            self.style.SUCCESS(f"Graduated to level {policy.graduation_level}: cap {policy.current_cap()}/day.")
        )

    def do_hold(self, options):
        hold = services.raise_person_hold(reason=options["reason"], by=options["by"])
        self.stdout.write(self.style.WARNING(f"Raised {hold.as_line()}. Nothing will be sent."))
        write_hold_banner(self)

    def do_clear(self, options):
        cleared = services.clear(hold_id=None if options["all"] else options["hold_id"], by=options["by"], reason=options["reason"])
        for hold in cleared:
            self.stdout.write(f"Cleared {hold.as_line()}")
        write_hold_banner(self)
        self.stdout.write(f"{len(cleared)} hold(s) cleared.")

    def do_decide(self, options):
        day = services.decide(
            decision=options["decision"], by=options["by"], reason=options["reason"], date=parse_date(options["date"])
        )
        self.stdout.write(self.style.SUCCESS(f"Recorded {day.decision} for {day.date} by {day.decided_by}."))
        write_hold_banner(self)
