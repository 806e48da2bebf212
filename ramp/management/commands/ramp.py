"""`manage.py ramp status|graduate|hold|clear|decide|signoff|confirm-quality`: the ramp, its holds and the
Head of Sales' exit-criteria records from the terminal."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError

from ramp import services
from ramp.cli import parse_date, write_hold_banner, write_json
from ramp.models import QualityRubric, RampDay
from ramp.people import CHANGE_POLICY, CLEAR_HOLD, DECIDE_DAY, SIGN_OFF_QUALITY, TOKEN_ENV, NotAllowed, person_from_token

TOKEN_HELP = (
    f"The acting person's personal API token (default: ${TOKEN_ENV}); `api_token create NAME --user USERNAME` issues one."
)


class Command(BaseCommand):
    help = (
        "Ramp state and holds. `status` shows the policy, today, holds, graduation and live-cycle blockers; "
        "`graduate` shows whether graduation is allowed (add --apply to graduate); `hold` raises a hold at once; "
        "`clear` clears holds (a name and a reason are required); `decide` records the day's continue/hold/rollback; "
        "`signoff` records the Head of Sales' sign-off of the quality rubric and rejection tags; "
        "`confirm-quality` records the Head of Sales' confirmation that copy quality is stable in this clean streak. "
        f"Every act recorded in a person's name (graduate --apply, clear, decide, signoff --apply, confirm-quality --apply) "
        f"needs that person's personal API token (--token, or {TOKEN_ENV} in the environment); a typed --by name alone is "
        "refused. Raising a hold needs only a name: anyone who may stop sending should be able to at once."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="status|graduate|hold|clear|decide|signoff|confirm-quality")
        status = sub.add_parser("status", help="Show the ramp state.")
        status.add_argument("--json", action="store_true", help="Print one JSON document.")

        graduate = sub.add_parser("graduate", help="Review graduation; --apply moves the cap one step up.")
        graduate.add_argument("--by", default="", help="Who graduates (optional: the token names the person).")
        graduate.add_argument("--token", help=TOKEN_HELP)
        graduate.add_argument("--apply", action="store_true", help="Graduate for real (default: dry run).")

        hold = sub.add_parser("hold", help="Raise a hold: nothing is sent until a person clears it.")
        hold.add_argument("--reason", required=True, help="Why sends must stop.")
        hold.add_argument("--by", required=True, help="Who raises the hold.")

        clear = sub.add_parser("clear", help="Clear a hold (or --all active holds).")
        which = clear.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", type=int, dest="hold_id", help="The hold number (see `ramp status`).")
        which.add_argument("--all", action="store_true", help="Clear every active hold.")
        clear.add_argument("--reason", required=True, help="Why it is safe to send again.")
        clear.add_argument("--by", default="", help="Who clears it (optional: the token names the person).")
        clear.add_argument("--token", help=TOKEN_HELP)

        decide = sub.add_parser(
            "decide",
            help="Record a live day's decision. continue: nothing changes. hold: raise a hold. "
            "rollback: the cap goes back one step, the clean-day streak restarts and a hold is raised.",
        )
        decide.add_argument("decision", choices=RampDay.Decision.values, help="continue, hold or rollback.")
        decide.add_argument("--by", default="", help="Who decides, the go/no-go owner (optional: the token names the person).")
        decide.add_argument("--token", help=TOKEN_HELP)
        decide.add_argument("--reason", default="", help="Why (required for hold and rollback).")
        decide.add_argument("--date", help="The live day (YYYY-MM-DD); default: the latest live day without a decision.")

        signoff = sub.add_parser(
            "signoff",
            help="The Head of Sales signs off the current quality rubric and rejection tags: shows them; --apply records it.",
        )
        signoff.add_argument("--by", default="", help="The Head of Sales (a user with ramp.sign_off_quality); the token names them.")
        signoff.add_argument("--token", help=TOKEN_HELP)
        signoff.add_argument("--apply", action="store_true", help="Record the sign-off (default: show what would be signed).")

        confirm = sub.add_parser(
            "confirm-quality",
            help="The Head of Sales confirms copy quality is stable during the current clean streak; --apply records it.",
        )
        confirm.add_argument("--by", default="", help="The Head of Sales (a user with ramp.sign_off_quality); the token names them.")
        confirm.add_argument("--token", help=TOKEN_HELP)
        confirm.add_argument("--note", default="", help="What the confirmation rests on (optional).")
        confirm.add_argument("--apply", action="store_true", help="Record the confirmation (default: dry run).")

    def handle(self, *args, **options):
        action = options["action"].replace("-", "_")
        try:
            return getattr(self, f"do_{action}")(options)
        except (services.RampError, NotAllowed) as exc:
            raise CommandError(str(exc)) from None

    def _person(self, options, permission: str, *, recording: bool = True) -> str:
        """Return who acts: the user of the personal token given, who must be --by when that is named too.

        A dry run records nothing, so there a --by name is enough to show what would be recorded.
        """
        raw = options.get("token") or os.environ.get(TOKEN_ENV, "")
        if recording or raw:
            return person_from_token(permission, raw_token=raw, by=options.get("by") or "").get_username()
        if not options.get("by"):
            raise CommandError("Name the person with --by NAME, or give their --token.")
        return options["by"]

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
        self.stdout.write("Live days toward graduation (newest first):")
        for line in grad["days"] or ["none since the streak start"]:
            self.stdout.write(f"  - {line}")
        self.stdout.write("Stop conditions:")
        for line in state["stop_settings"]:
            self.stdout.write(f"  - {line}")
        self.stdout.write(f"Clean days in the streak: {len(grad['clean_days'])} ({', '.join(grad['clean_days']) or 'none'})")
        self._write_quality(state["quality"])
        if grad["allowed"]:
            self.stdout.write(self.style.SUCCESS("Graduation: allowed (`ramp graduate --apply --token T`)"))
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
        by = self._person(options, SIGN_OFF_QUALITY, recording=options["apply"])
        signoff = services.sign_off_quality(by=by, apply=options["apply"])
        rubric = QualityRubric.objects.get(version=signoff.rubric_version)
        self.stdout.write(f"Quality rubric v{rubric.version}:")
        for line in rubric.text.splitlines():
            self.stdout.write(f"  {line}")
        self.stdout.write(f"Rejection tags {signoff.taxonomy_version}: {', '.join(signoff.taxonomy_tags)}")
        self._recorded(signoff.as_line(), options["apply"])

    def do_confirm_quality(self, options):
        by = self._person(options, SIGN_OFF_QUALITY, recording=options["apply"])
        confirmation = services.confirm_copy_quality(by=by, note=options["note"], apply=options["apply"])
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
                self.stdout.write(self.style.SUCCESS("Graduation is allowed. Dry run: add --apply --token T (your personal token) to graduate."))
                return
            raise CommandError("Graduation refused: " + "; ".join(review.reasons))
        policy = services.graduate(by=self._person(options, CHANGE_POLICY))
        self.stdout.write(
            self.style.SUCCESS(f"Graduated to level {policy.graduation_level}: cap {policy.current_cap()}/day.")
        )

    def do_hold(self, options):
        hold = services.raise_person_hold(reason=options["reason"], by=options["by"])
        self.stdout.write(self.style.WARNING(f"Raised {hold.as_line()}. Nothing will be sent."))
        write_hold_banner(self)

    def do_clear(self, options):
        by = self._person(options, CLEAR_HOLD)
        cleared = services.clear(hold_id=None if options["all"] else options["hold_id"], by=by, reason=options["reason"])
        for hold in cleared:
            self.stdout.write(f"Cleared {hold.as_line()}")
        write_hold_banner(self)
        self.stdout.write(f"{len(cleared)} hold(s) cleared.")

    def do_decide(self, options):
        day = services.decide(
            decision=options["decision"],
            by=self._person(options, DECIDE_DAY),
            reason=options["reason"],
            date=parse_date(options["date"]),
        )
        self.stdout.write(self.style.SUCCESS(f"Recorded {day.decision} for {day.date} by {day.decided_by}."))
        write_hold_banner(self)
