"""Load demo data: two campaigns, 62 leads over three tiers and cards in every state.

Safe to run again: rows are found by natural keys and only missing ones are
created, so a second run changes nothing. `--users` makes the demo's logins and
API tokens; with `--credentials FILE` they are made once, kept in the file and
the same on every run (the demo restarts without new passwords).

The history is one a careful operator could have left: the live days before
today each have their decision, enrollments stand at the step their last card
is at, and nothing happened today yet, so the first live cycle meets no
leftover gate.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from caio.models import ApiToken, hash_token
from compliance.models import DoNotContact, ExcludedDomain
from compliance.services import add_rule_if_missing
from outreach import checks
from outreach.approval import approval_record
from outreach.drafting.cadence import cadence_tick
from outreach.drafting.drafters import DEFAULT_DRAFTER, card_from_draft
from outreach.drafting.pipeline import run_pipeline
from outreach.drafting.prompts import current_version
from outreach.models import (
    CadenceStep,
    Campaign,
    CardStatus,
    CardTransition,
    Enrollment,
    Lead,
    PendingEmail,
    RejectionTag,
    Tier,
)
from outreach.roles import HEAD_OF_SALES, OPERATOR
from outreach.transitions import record_drafted, transition
from ramp.days import operating_date, operating_tz, ramp_day
from ramp.models import RampDay, RampPolicy

CAMPAIGN_REF = "wpromote-tier1-q1"
# What the model drafter may say for the main campaign (its step 1 is model-drafted in the demo).
CAMPAIGN_FACTS = """offer: A 15-minute walkthrough of how weekly paid media reporting can take under an hour
proof: Northwind Media cut its weekly paid media reporting from a full day to under an hour
tone: Plain and short, one question, no flattery
forbidden: guaranteed ROI"""
MODEL_PROMPT = "Write a first email of at most 90 words about weekly paid media reporting time."
# Leads drafted by the model while seeding (the model sandbox that bin/demo starts answers).
MODEL_CARDS = 3
CANARY_CAMPAIGN_REF = "wpromote-tier2-canary"

STEPS = [
    (
        1,
        0,
        "Paid media reporting at {{ lead.company }}",
        "Hi {{ lead.first_name }},\n\nTeams like {{ lead.company }} tell us their weekly paid media reporting eats a full day. "
        "We cut that to under an hour without changing your stack.\n\nWould a 15-minute call next Tuesday be worth it?\n\n"
        "Best,\nAlex Rivera\nHead of Partnerships, CAIO",
    ),
    (
        2,
        3,
        "Following up, {{ lead.first_name }}",
        "Hi {{ lead.first_name }},\n\nA quick follow-up on reporting time at {{ lead.company }}. "
        "I can share a two-minute walkthrough of how a similar team did it.\n\nWould you like me to send it over?\n\n"
        "Best,\nAlex Rivera\nHead of Partnerships, CAIO",
    ),
    (
        3,
        4,
        "Should I close the loop?",
        "Hi {{ lead.first_name }},\n\nI don't want to crowd your inbox. If reporting time isn't a priority for "
        "{{ lead.company }} this quarter, just say so and I'll close the loop.\n\nIf it is, is a short call this week useful?\n\n"
        "Best,\nAlex Rivera\nHead of Partnerships, CAIO",
    ),
]

FIRST_NAMES = [
    "Celia", "Andrew", "Maya", "Jonah", "Priya", "Lucas", "Hannah", "Omar", "Grace", "Mateo", "Zoe", "Ethan",
    "Leah", "Noah", "Ava", "Samir", "Ines", "Kofi", "Nora", "Felix", "Ruth", "Diego", "Mina", "Theo", "Clara",
]
LAST_NAMES = [
    "Kettering", "Mahr", "Okafor", "Lindqvist", "Raman", "Moreau", "Becker", "Haddad", "Nakamura", "Silva",
    "Novak", "Brennan", "Adeyemi", "Castillo", "Fischer", "Iyer", "Kowalski", "Larsen", "Mendes", "Park",
]
COMPANIES = [
    "Wpromote", "Northwind Media", "Bluefin Analytics", "Copperleaf Retail", "Harbor Labs", "Juniper Health",
    "Kestrel Travel", "Lumen Outdoor", "Meridian Foods", "Oakline Software", "Pinecrest Finance", "Quarry Games",
]
EXCLUDED_CUSTOMER_DOMAIN = "brightcustomer.example"


def _lead_specs() -> list[dict]:
    """Return the demo leads: 45 tier_1 (5 not drafted yet: the model drafts 3 while seeding, 2 are left for run_pipeline), 10 tier_2,
    7 tier_3 (3 do-not-contact, 2 on a customer domain)."""
    specs = []
    tiers = [Tier.TIER_1] * 45 + [Tier.TIER_2] * 10 + [Tier.TIER_3] * 7
    for index, tier in enumerate(tiers):
        first = FIRST_NAMES[index % len(FIRST_NAMES)]
        last = LAST_NAMES[(index * 7) % len(LAST_NAMES)]
        company = COMPANIES[index % len(COMPANIES)]
        domain = company.lower().replace(" ", "") + ".example"
        spec = {
            "email": f"{first}.{last}{index}@{domain}".lower(),
            "first_name": first,
            "last_name": last,
            "company": company,
            "title": "VP Marketing" if index % 2 else "Director of Growth",
            "tier": tier,
            "source": "wpromote",
        }
        if tier == Tier.TIER_3 and index >= len(tiers) - 3:
            spec.update(do_not_contact=True, do_not_contact_reason="asked not to be contacted")
        elif tier == Tier.TIER_3 and index >= len(tiers) - 5:
            spec.update(email=f"{first}.{last}@mail.{EXCLUDED_CUSTOMER_DOMAIN}".lower(), company="Bright Customer Co")
        specs.append(spec)
    return specs


class Command(BaseCommand):
    help = "Load idempotent demo data (campaign, leads, cards in every state). --users also prints demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--users",
            action="store_true",
            help="Create the admin, hos and operator users and the API tokens (a service token; personal ones of hos "
            "and operator) and print them.",
        )
        parser.add_argument(
            "--credentials",
            metavar="FILE",
            help="With --users: keep the passwords and tokens in FILE (made once, owner-only) and reuse them on every run.",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        policy, created_policy = RampPolicy.objects.get_or_create(pk=1)
        if created_policy:
            # A demo is tried at any hour: open the sending window all day. The
            # production default stays 15:00-18:00 in the operating time zone.
            policy.window_start, policy.window_end = dt.time(0, 0), dt.time(23, 59)
            policy.save(update_fields=["window_start", "window_end"])
        campaign = self._campaign(CAMPAIGN_REF, "Wpromote tier 1, Q1", Tier.TIER_1)
        canary = self._campaign(CANARY_CAMPAIGN_REF, "Wpromote tier 2 canary", Tier.TIER_2)
        leads = [self._lead(spec) for spec in _lead_specs()]
        add_rule_if_missing(ExcludedDomain(domain=EXCLUDED_CUSTOMER_DOMAIN, reason="current customer"))
        add_rule_if_missing(DoNotContact(email="legal@competitor.example", reason="legal request"))
        created = self._cards(campaign, canary, leads)
        model_line = self._model_cards(campaign)
        self._decide_past_days()
        # The cadence engine settles the seeded sequences as it would have: a rejected or failed
        # step stops its enrollment, so no enrollment waits on a card that will never be sent.
        cadence_tick(apply=True)
        self.stdout.write(
            f"Demo data ready: {Lead.objects.count()} leads, {PendingEmail.objects.count()} cards "
            f"({created} new), campaign {campaign.ref}, ramp cap {policy.current_cap()}/day, "
            f"sending window {policy.window_start:%H:%M}-{policy.window_end:%H:%M} {settings.OPERATING_TIMEZONE}. {model_line}"
        )
        if options["users"]:
            self._users(Path(options["credentials"]) if options["credentials"] else None)

    def _campaign(self, ref: str, name: str, tier: str) -> Campaign:
        campaign, _ = Campaign.objects.get_or_create(
            ref=ref, defaults={
                "name": name, "tier": tier, "classifier": f"outbound_{tier}", "route": "ghl_email",
                # The person the step templates sign as.
                "sender_name": "Alex Rivera", "sender_email": "alex.rivera@caio.example",
            }
        )
        if ref == CAMPAIGN_REF and not campaign.facts:
            campaign.facts = CAMPAIGN_FACTS
            campaign.save(update_fields=["facts"])
        for number, delay, subject, body in STEPS:
            defaults = {"delay_days": delay, "subject_template": subject, "body_template": body}
            if ref == CAMPAIGN_REF and number == 1:
                # One step the model drafts, from the facts above, behind the output contract.
                defaults.update(drafter="model", prompt=MODEL_PROMPT)
            CadenceStep.objects.get_or_create(campaign=campaign, number=number, defaults=defaults)
        return campaign

    def _model_cards(self, campaign: Campaign) -> str:
        """Draft a few step-1 cards with the model drafter, as run_pipeline does; say what happened.

        Against the model sandbox bin/demo starts (loopback, no key). Not there
        (seed_demo run on its own), each lead is a drafting error and stays
        undrafted; the rest of the demo data does not depend on it.
        """
        # The prompt version in use gets its row, so its page (the shadow lane's entrance) is there from the start.
        current_version(campaign.steps.get(number=1))
        if PendingEmail.objects.filter(campaign=campaign, drafter="model").exists():
            return "Model-drafted cards: already seeded."
        report = run_pipeline(source="wpromote", limit=MODEL_CARDS, campaign_ref=campaign.ref, apply=True)
        caught = "; ".join(error.message for error in report.errors[:2])
        return f"Model-drafted cards: {len(report.drafted)}, drafting errors: {len(report.errors)}{' (' + caught + ')' if caught else ''}."

    def _lead(self, spec: dict) -> Lead:
        lead = Lead.objects.filter(email=spec["email"]).first()
        return lead or Lead.objects.create(**spec)

    def _cards(self, campaign: Campaign, canary: Campaign, leads: list[Lead]) -> int:
        """Create the demo queue: many pending, few eligible, and every other state.

        Tier 3 leads (do-not-contact, customer domain) get no cards: they show
        what the pipeline must skip. The sends are history: three step-1 emails
        sent five days ago, and yesterday's cycle (step 2 of those leads, due
        after three days, and one step 1), still in flight or failed; nothing
        was claimed today.
        """
        now = timezone.now()
        tier1 = [lead for lead in leads if lead.tier == Tier.TIER_1]
        tier2 = [lead for lead in leads if lead.tier == Tier.TIER_2]
        five_days_ago, yesterday = _history_cycle(5), _history_cycle(1)
        plan: list[tuple[Lead, int, str, dict]] = []
        plan += [(lead, 1, CardStatus.PENDING, {"at": now - timedelta(minutes=20 + 25 * i)}) for i, lead in enumerate(tier1[:2])]
        plan += [(lead, 1, CardStatus.PENDING, {"at": now - timedelta(days=4 + i % 6)}) for i, lead in enumerate(tier1[2:22])]
        plan += [(lead, 1, CardStatus.PENDING, {"at": now - timedelta(hours=2 + i), "is_canary": True}) for i, lead in enumerate(tier1[22:32])]
        plan += [(lead, 1, CardStatus.PENDING, {"at": now - timedelta(hours=3 + i), "campaign": canary}) for i, lead in enumerate(tier2[:5])]
        plan += [(lead, 1, CardStatus.APPROVED, {"at": now - timedelta(hours=5)}) for lead in tier1[32:34]]
        plan += [(lead, 1, CardStatus.SENT, {"at": five_days_ago}) for lead in tier1[34:37]]
        plan += [(tier1[34], 2, CardStatus.QUEUED, {"at": yesterday})]
        plan += [(tier1[35], 2, CardStatus.SENDING, {"at": yesterday})]
        plan += [(tier1[36], 2, CardStatus.UNKNOWN, {"at": yesterday})]
        plan += [(tier1[37], 1, CardStatus.FAILED, {"at": yesterday})]
        plan += [(lead, 1, CardStatus.REJECTED, {"at": now - timedelta(days=1), "campaign": canary}) for lead in tier2[5:8]]
        plan += [(lead, 1, CardStatus.PENDING, {"at": now - timedelta(hours=1), "is_shadow": True}) for lead in tier1[38:40]]

        reviewer_tag = RejectionTag.objects.get(slug="weak_personalization")
        created = 0
        for lead, step_number, status, extra in plan:
            card_campaign = extra.get("campaign", campaign)
            step = card_campaign.steps.get(number=step_number)
            if PendingEmail.objects.filter(lead=lead, campaign=card_campaign, step=step).exists():
                continue
            card = self._draft(card_campaign, step, lead, created_at=extra["at"])
            card.is_canary = extra.get("is_canary", False)
            card.is_shadow = extra.get("is_shadow", False)
            enrollment, _ = Enrollment.objects.get_or_create(
                lead=lead, campaign=card_campaign, status=Enrollment.Status.ACTIVE,
                defaults={"current_step": step_number, "enrolled_at": card.created_at},
            )
            # The sequence stands at the step of its newest card, as the cadence leaves it.
            if enrollment.current_step < step_number:
                Enrollment.objects.filter(pk=enrollment.pk).update(current_step=step_number, next_due_at=None)
            card.enrollment = enrollment
            card.save()
            record_drafted([card], actor_label="demo data")
            checks.record(card)
            self._set_demo_state(card, status, reviewer_tag)
            created += 1
        return created

    def _draft(self, campaign: Campaign, step: CadenceStep, lead: Lead, *, created_at: dt.datetime) -> PendingEmail:
        """Draft with the same drafter, footer and labels as the pipeline; only the age is made up."""
        draft = DEFAULT_DRAFTER.draft(lead, step)
        return card_from_draft(
            draft, lead=lead, campaign=campaign, step=step, drafter_name=DEFAULT_DRAFTER.name, created_at=created_at
        )

    def _set_demo_state(self, card: PendingEmail, status: str, tag: RejectionTag) -> None:
        """Walk a new demo card to `status` through the real transition function, each step dated when it happened."""
        route = CardStatus.ROUTE_TO_GHL
        if status == CardStatus.PENDING:
            path = []
        elif status == CardStatus.REJECTED:
            path = [status]
        elif status in route:
            path = list(route[: route.index(status) + 1])
        else:
            path = [*route, status]
        reviewed_at = card.created_at + timedelta(minutes=10)
        queued_at = card.created_at + timedelta(minutes=20)
        sent_at = card.created_at + timedelta(minutes=40)
        extra_fields = {
            CardStatus.APPROVED: {"reviewed_by": self._demo_reviewer(), "reviewed_at": reviewed_at, **approval_record(card)},
            CardStatus.QUEUED: {"queued_at": queued_at},
            CardStatus.REJECTED: {"reviewed_at": reviewed_at, "rejection_tag": tag, "rejection_note": "Reads like a template."},
            CardStatus.SENDING: {"dispatch_attempts": 1},
            CardStatus.SENT: {"sent_at": sent_at, "ghl_message_id": f"demo{card.pk:016d}"},
            CardStatus.FAILED: {"last_error": "GHL: Unable to send e-mail, contact's e-mail is invalid"},
            CardStatus.UNKNOWN: {"last_error": "GHL: read timed out after the request was sent"},
        }
        happened = {CardStatus.APPROVED: reviewed_at, CardStatus.REJECTED: reviewed_at, CardStatus.QUEUED: queued_at}
        for step_status in path:
            moved = transition(card, step_status, actor_label="demo data", reason="demo history", **extra_fields.get(step_status, {}))
            # History, not today's work: the record carries the time the step happened, so today's
            # report and the queue trace do not count it as done today.
            CardTransition.objects.filter(card=moved, to_status=step_status, actor_label="demo data").update(
                created_at=happened.get(step_status, sent_at)
            )
        if CardStatus.QUEUED in path:
            self._count_on_ramp_day(card, status, queued_at)

    def _count_on_ramp_day(self, card: PendingEmail, status: str, queued_at) -> None:
        """Count a demo send on the live ramp day it was claimed on, as a live cycle would have,
        so that caps and counts agree when reconcile later settles the in-flight demo cards."""
        day = ramp_day(operating_date(queued_at))
        counters = {"dispatched_count": F("dispatched_count") + 1}
        if status == CardStatus.SENT:
            counters["sent_count"] = F("sent_count") + 1
        if status in CardStatus.SEND_ERROR:
            counters["error_count"] = F("error_count") + 1
        RampDay.objects.filter(pk=day.pk).update(is_live=True, owner=day.owner or "operator", **counters)

    def _demo_reviewer(self) -> User:
        """The Head of Sales who approved the demo cards (an approved card always names its reviewer).

        Without --users the account has no usable password; --users gives it one.
        """
        user, created = User.objects.get_or_create(username="hos", defaults={"is_staff": True})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.set([Group.objects.get(name=HEAD_OF_SALES)])
        return user

    def _decide_past_days(self) -> None:
        """Record the operator's decision on each past live day, as the runbook asks before the next cycle."""
        for day in RampDay.objects.filter(is_live=True, decision="", date__lt=operating_date()):
            errors = f"; {day.error_count} send error(s) looked into: an invalid address, and sends in doubt left to reconcile" if day.error_count else ""
            RampDay.objects.filter(pk=day.pk, decision="").update(
                decision=RampDay.Decision.CONTINUE,
                decided_by="operator",
                decided_at=dt.datetime.combine(day.date, dt.time(18, 0), tzinfo=operating_tz()),
                decision_reason=f"demo history{errors}",
            )

    def _users(self, keep: Path | None) -> None:
        """Make the demo's logins and tokens and print them; with `keep`, reuse what the file holds and add what it lacks."""
        kept = json.loads(keep.read_text(encoding="utf-8")) if keep is not None and keep.exists() else {}
        passwords, tokens = dict(kept.get("passwords", {})), dict(kept.get("tokens", {}))
        fresh = not kept
        self.stdout.write(
            "\nDemo logins (new on every run):" if keep is None
            else "\nDemo logins (made for this demo; the same on every run until `make demo-reset`):"
        )
        for username, role, superuser in (("admin", None, True), ("hos", HEAD_OF_SALES, False), ("operator", OPERATOR, False)):
            user, created = User.objects.get_or_create(username=username)
            # A user the data made without a usable password (the demo's reviewer) gets the kept one too.
            if created or keep is None or username not in passwords or not user.has_usable_password():
                passwords[username] = passwords.get(username) if keep is not None and username in passwords else secrets.token_urlsafe(12)
                user.set_password(passwords[username])
            user.is_staff = True
            user.is_superuser = superuser
            user.save()
            if role:
                user.groups.set([Group.objects.get(name=role)])
            self.stdout.write(f"  {username:<9} {passwords[username]}   ({role or 'superuser'})")
        if keep is None:
            ApiToken.objects.filter(name="demo", revoked_at__isnull=True).update(revoked_at=timezone.now())
            tokens = {}
        tokens["demo"] = self._token("demo", tokens.get("demo"), user=None)
        for username in ("hos", "operator"):
            tokens[username] = self._token(f"demo-{username}", tokens.get(username), user=User.objects.get(username=username))
        self.stdout.write(f"  API token (header 'Authorization: Bearer …'): {tokens['demo']}")
        self.stdout.write("  Personal tokens, for the ramp commands that record a person's act (--token T or CAIO_TOKEN):")
        for username in ("hos", "operator"):
            self.stdout.write(f"    {username:<9} {tokens[username]}")
        if keep is not None and (fresh or kept != {"passwords": passwords, "tokens": tokens}):
            keep.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(keep, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump({"passwords": passwords, "tokens": tokens}, handle, indent=2)

    def _token(self, name: str, raw: str | None, *, user) -> str:
        """Return the kept token when it still works, issuing it again on a new database; a revoked one is replaced."""
        if raw and ApiToken.authenticate(raw) is not None:
            return raw
        if raw and not ApiToken.objects.filter(token_hash=hash_token(raw)).exists():
            return ApiToken.issue(name, created_by="seed_demo", user=user, raw=raw)[1]
        return ApiToken.issue(name, created_by="seed_demo", user=user)[1]


def _history_cycle(days_ago: int) -> dt.datetime:
    """Return when the history's cards of the live cycle `days_ago` operating days ago were drafted: 15:00 that day.

    Whatever the hour the demo starts, that cycle is on its own past day, never today.
    """
    date = operating_date() - timedelta(days=days_ago)
    return dt.datetime.combine(date, dt.time(15, 0), tzinfo=operating_tz())
