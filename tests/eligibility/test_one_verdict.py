"""Every view of a card gives the same verdict and the same reason code.

The world is built only through the product's own functions: leads drafted by
the pipeline and the cadence, decisions by the review services, rule changes
as the admin saves them (a do-not-contact entry, an excluded domain, a
campaign's label, the ramp policy), suppression through `suppress_lead`, a send
through the transition function. The clock is moved with time-machine.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections import Counter
from dataclasses import dataclass
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from caio.models import ApiToken
from compliance.models import DoNotContact, ExcludedDomain
from outreach import eligibility, review
from outreach.drafting.cadence import cadence_tick
from outreach.eligibility import ELIGIBLE
from outreach.models import CadenceStep, Campaign, CardStatus, Lead, PendingEmail, Tier
from outreach.reports.queue_facts import queue_facts
from outreach.drafting.pipeline import run_pipeline
from outreach.sending.select import RAMP_LIMIT, dry_run, start_live_cycle
from outreach.transitions import transition
from ramp.models import RampPolicy
from tests.dispatch.helpers import green_gates
from outreach.roles import HEAD_OF_SALES, OPERATOR
from tests.factories import make_campaign, make_lead, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

# A Wednesday morning in the operating time zone, inside the default sending window.
NOW = dt.datetime(2026, 3, 4, 11, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))

QUEUE_URL = reverse("admin:outreach_pendingemail_changelist")


def set_policy(**fields) -> None:
    """Change the ramp policy as an operator does in its admin page."""
    RampPolicy.objects.update_or_create(pk=1, defaults=fields)


def leads(source: str, n: int = 2, *, domain: str = "", **fields) -> list[Lead]:
    """Create `n` leads of `source`, each at its own company unless `domain` is given."""
    return [
        make_lead(source=source, email=f"{source}-lead{i}@{domain or f'{source}-co{i}.example'}", **fields)
        for i in range(n)
    ]


def draft(source: str, campaign: Campaign, *, mode: str = "production") -> list[PendingEmail]:
    """Draft step 1 for every lead of `source` through the pipeline; return their cards, in lead order."""
    report = run_pipeline(source=source, limit=10, mode=mode, campaign_ref=campaign.ref, apply=True)
    assert not report.errors, report.errors
    return list(PendingEmail.objects.filter(pk__in=report.drafted).order_by("lead__email"))


def send(card: PendingEmail, operator) -> None:
    """Move an approved card to sent through the transition function, as a cycle and its job do."""
    for to_status in (CardStatus.QUEUED, CardStatus.SENDING):
        transition(card, to_status, expected=card.status, actor=operator, reason="test send", queued_at=timezone.now())
    transition(
        card, CardStatus.SENT, expected=CardStatus.SENDING, actor_label="dispatch worker",
        sent_at=timezone.now(), ghl_message_id=f"msg-{card.pk}",
    )


def build_world(hos, operator, now: dt.datetime) -> dict[str, tuple[PendingEmail, str]]:
    """Return {name: (card, expected verdict)}: each situation once pending and once approved."""
    set_policy(allowed_tiers=["tier_1"], graduation_level=0, cap_steps=[10, 20, 40], tier2_canary_share="0.2")
    main = make_campaign(ref="main")
    world: dict[str, tuple[PendingEmail, str]] = {}

    def pair(name: str, cards: list[PendingEmail], expected: str) -> None:
        pending, approved = cards
        review.approve(approved, user=hos)
        world[f"{name} (pending)"] = (pending, expected)
        world[f"{name} (approved)"] = (approved, expected)

    # Step 1 sent four days ago; step 2 drafted by the cadence, then the cadence reordered.
    sequence = make_campaign(ref="sequence")
    with time_machine.travel(now - dt.timedelta(hours=100), tick=False):
        leads("resent")
        for card in draft("resent", sequence):
            review.approve(card, user=hos)
            send(card, operator)
    with time_machine.travel(now - dt.timedelta(hours=80), tick=False):
        leads("stale")
        stale = draft("stale", main)
    with time_machine.travel(now - dt.timedelta(hours=79), tick=False):
        review.approve(stale[1], user=hos)
        world["stale (pending)"], world["stale (approved)"] = (stale[0], "stale"), (stale[1], "stale")

    with time_machine.travel(now - dt.timedelta(hours=3), tick=False):
        assert len(cadence_tick(apply=True).drafted) == 2
        step_two = list(PendingEmail.objects.filter(campaign=sequence, step__number=2).order_by("lead__email"))
        review.approve(step_two[1], user=hos)
        # An operator reorders the sequence in the campaign admin: the sent email is now the later step.
        first, second = CadenceStep.objects.get(campaign=sequence, number=1), CadenceStep.objects.get(campaign=sequence, number=2)
        for step, number in ((first, 9), (second, 1), (first, 2)):
            step.number = number
            step.save()
        world["already sent step (pending)"] = (step_two[0], "already_sent_step")
        world["already sent step (approved)"] = (step_two[1], "already_sent_step")

        leads("ok")
        pair("eligible", draft("ok", main), ELIGIBLE)

        leads("dnc")
        dnc = draft("dnc", main)
        pair("do-not-contact", dnc, "do_not_contact")
        for card in dnc:
            DoNotContact.objects.create(email=card.lead.email, reason="asked by phone")

        leads("customer", domain="customer-co.example")
        pair("excluded domain", draft("customer", main), "excluded_domain")
        ExcludedDomain.objects.create(domain="customer-co.example")
        leads("subsidiary", domain="eu.parent-co.example")
        pair("excluded subdomain", draft("subsidiary", main), "excluded_domain")
        ExcludedDomain.objects.create(domain="parent-co.example")

        leads("replied")
        replied = draft("replied", main)
        pair("replied", replied, "replied")
        # What the GHL inbound-message webhook records for a reply.
        Lead.objects.filter(pk__in=[card.lead_id for card in replied]).update(replied_at=timezone.now())

        relabelled = make_campaign(ref="relabelled")
        leads("relabel")
        pair("mislabelled classifier", draft("relabel", relabelled), "classifier_mismatch")
        relabelled.classifier = "outbound_tier_1_v2"
        relabelled.save()

        renamed = make_campaign(ref="renamed")
        leads("rename")
        pair("campaign mismatch", draft("rename", renamed), "campaign_mismatch")
        renamed.ref = "renamed-later"
        renamed.save()
        assert PendingEmail.objects.get(pk=world["campaign mismatch (approved)"][0].pk).status == CardStatus.PENDING

        # Canary cards drafted while graduated, then the ramp rolled back.
        set_policy(graduation_level=1)
        leads("canary", tier=Tier.TIER_2)
        canary = draft("canary", make_campaign(ref="tier2", tier=Tier.TIER_2, classifier="outbound_tier_2"))
        assert all(card.is_canary for card in canary)
        pair("canary before graduation", canary, "canary")
        set_policy(graduation_level=0)

        leads("shadow")
        pair("shadow", draft("shadow", main, mode="shadow"), "shadow")

        # Tier 3 drafted while the policy allowed it, then taken out again.
        set_policy(allowed_tiers=["tier_1", "tier_3"])
        leads("tier3", tier=Tier.TIER_3)
        pair("tier not sendable", draft("tier3", make_campaign(ref="tier3", tier=Tier.TIER_3, classifier="outbound_tier_3")), "tier_not_sendable")
        set_policy(allowed_tiers=["tier_1"])

        # Edited after approval: back to review, eligible for a fresh decision, never claimed as it was.
        leads("edited", n=1)
        edited = draft("edited", main)[0]
        review.approve(edited, user=hos)
        review.edit(edited, user=hos, subject="A better subject", body=edited.body + "\n\nP.S. One more thing?")
        world["edited after approval"] = (edited, ELIGIBLE)

    # Approved just now: it waits out its reviewer's undo window before any claim.
    leads("undo", n=1)
    just_approved = draft("undo", main)[0]
    review.approve(just_approved, user=hos)
    world["within the undo window"] = (just_approved, "undo_window")

    for card, _ in world.values():
        card.refresh_from_db()
    return world


def verdicts_of(cards: list[PendingEmail], rows: dict[int, str], default: str | None) -> dict[int, str | None]:
    return {card.pk: rows.get(card.pk, default) for card in cards}


@dataclass(frozen=True)
class World:
    hos: object
    operator: object
    expected: dict[int, str]  # card pk -> the reason code every view must give (or ELIGIBLE)
    pending: list[PendingEmail]
    approved: list[PendingEmail]

    @property
    def open_cards(self) -> list[PendingEmail]:
        return self.pending + self.approved


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The cards of `build_world`, built once for the module on a frozen clock, rolled back at its end.

    Each view is its own test over this world (each inside its own savepoint),
    so a view that disagrees is named by its test, and the others still run.
    """
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        time_machine.travel(NOW, tick=False),
        # Long enough that the card approved last is still in its undo window at the claim.
        override_settings(REVIEW_DECISION_SLA_MINUTES=60, REVIEW_UNDO_SECONDS=3600),
    ):
        hos, operator = make_user("hos", role=HEAD_OF_SALES), make_user("operator", role=OPERATOR)
        cards = build_world(hos, operator, timezone.now())
        expected = {card.pk: code for card, code in cards.values()}
        yield World(
            hos=hos,
            operator=operator,
            expected=expected,
            pending=[card for card, _ in cards.values() if card.status == CardStatus.PENDING],
            approved=[card for card, _ in cards.values() if card.status == CardStatus.APPROVED],
        )
        transaction.set_rollback(True)


def test_the_world_reaches_every_reason_a_card_can_reach_this_way(world):
    # Renaming the campaign withdrew the approval of its approved card (the step is part of what an
    # approval covers), so the campaign-mismatch pair is two pending cards.
    assert len(world.pending) == 14 and len(world.approved) == 12
    # Collisions arise only from canonicalising stored rows (tests/compliance/test_identity_migration.py).
    unreachable_here = {"unsubscribed", "bounced", "fails_compliance", "edited_after_approval", "identity_collision"}
    assert set(world.expected.values()) == {ELIGIBLE} | set(eligibility.CODES) - unreachable_here


def test_view_the_rules_card_by_card_and_in_sql(world):
    assert {c.pk: eligibility.judge_one(c).reason for c in world.open_cards} == world.expected
    conditions = eligibility.Conditions.current()
    opened = PendingEmail.objects.filter(status__in=CardStatus.OPEN)
    assert dict(eligibility.with_reason(opened, conditions).values_list("pk", eligibility.REASON)) == world.expected
    assert set(opened.filter(eligibility.eligible_q(conditions)).values_list("pk", flat=True)) == {
        pk for pk, code in world.expected.items() if code == ELIGIBLE
    }


def test_view_the_review_desk_slices_and_counts(world, client):
    """Each pending card on the page of its slice, and the counts."""
    expected, pending = world.expected, world.pending
    client.force_login(world.hos)
    desk: dict[int, str] = {}
    for name in (ELIGIBLE, *eligibility.CODES):
        page = client.get(QUEUE_URL, {"queue": name}).content.decode()
        for card in pending:
            if card.lead.email in page:
                assert card.pk not in desk, f"{card.lead.email} on two slices"
                desk[card.pk] = name
    assert desk == {card.pk: expected[card.pk] for card in pending}
    split = review.queue_split()
    assert {k: v for k, v in split.items() if v and k != review.PENDING} == Counter(expected[c.pk] for c in pending)
    eligible_pending = {c.pk for c in pending if expected[c.pk] == ELIGIBLE}
    assert review.sla_breaches()["decision"] == len(eligible_pending) == 2


def test_view_the_api(world, client):
    _, raw = ApiToken.issue("tests")
    body = client.get("/api/pending-emails", {"include_held_back": "true", "limit": 500}, HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    api = {PendingEmail.objects.get(code=row["code"]).pk: row["reason"] for row in body["cards"]}
    assert api == {card.pk: world.expected[card.pk] for card in world.open_cards}
    assert body["hygiene"]["held_back_by_reason"] == dict(Counter(v for v in world.expected.values() if v != ELIGIBLE))


def test_view_trace_queue(world):
    out = StringIO()
    call_command("trace_queue", "--json", "--no-store", stdout=out)
    traced = json.loads(out.getvalue())
    assert verdicts_of(world.open_cards, {row["card"]: row["reason"] for row in traced["held_back"]}, ELIGIBLE) == world.expected
    assert traced["counts"]["eligible"] == list(world.expected.values()).count(ELIGIBLE)


def test_view_cleanup_queue_plans_exactly_the_never_sendable_cards(world):
    """It plans exactly the cards no change of ramp can make sendable, under the same code."""
    out = StringIO()
    call_command("cleanup_queue", "--json", stdout=out)
    planned = {row["card"]: row["reason"] for row in json.loads(out.getvalue())["cards"]}
    assert planned == {
        pk: code for pk, code in world.expected.items() if code != ELIGIBLE and eligibility.rule(code).never_sendable
    }
    assert {"canary", "shadow", "tier_not_sendable"}.isdisjoint(planned.values())


def test_view_preflight_queue_facts(world):
    """The SLA backlog is the desk's; integrity names the mislabelled and re-sent cards."""
    expected = world.expected
    facts = queue_facts()
    assert {int(line.split()[1]) for line in facts.sla_overdue} == {c.pk for c in world.pending if expected[c.pk] == ELIGIBLE}
    assert {int(line.split()[1]) for line in facts.inconsistent_cards} == {
        pk for pk, code in expected.items() if code in ("classifier_mismatch", "campaign_mismatch")
    }
    assert {int(line.split()[1]) for line in facts.reappeared_leads} == {
        pk for pk, code in expected.items() if code == "already_sent_step"
    }


def test_view_the_dispatch_dry_run_and_the_claim(world, redis_conn, django_capture_on_commit_callbacks):
    """Over the approved cards: the dry run, then the live claim, give the same verdicts."""
    expected, approved = world.expected, world.approved
    green_gates(daily_cap=20, allowed_tiers=["tier_1"])
    planned_run = dry_run()
    assert not planned_run.blockers
    dry = {line.pk: line.verdict for line in planned_run.selected + planned_run.held_back}
    assert RAMP_LIMIT not in dry.values()
    assert dry == {card.pk: expected[card.pk] for card in approved}
    with django_capture_on_commit_callbacks(execute=True):
        cycle = start_live_cycle(operator=world.operator)
    claimed = {line.pk: ELIGIBLE for line in cycle.claimed}
    claimed.update({line.pk: line.verdict for line in cycle.held_back})
    assert claimed == dry
    assert [line.pk for line in cycle.claimed] == [c.pk for c in approved if expected[c.pk] == ELIGIBLE]
