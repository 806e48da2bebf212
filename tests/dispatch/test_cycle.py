"""The live claim (start_live_cycle) and the dry run walk the same selection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings

from outreach.sending.gates import DispatchRefused
from outreach.sending.queue import job_id_for
from outreach.sending.select import dry_run, start_live_cycle
from outreach.models import CardStatus, CardTransition, PendingEmail, Tier
from ramp.days import operating_date
from ramp.holds import raise_hold
from ramp.models import PreflightRun, RampDay
from tests.dispatch.helpers import approved_card, green_gates, queued_card
from tests.factories import make_campaign, make_lead

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def _cycle(operator, capture, **kwargs):
    with capture(execute=True):
        return start_live_cycle(operator=operator, **kwargs)


def test_it_claims_up_to_the_cap_and_enqueues_one_job_per_card(operator, redis_conn, django_capture_on_commit_callbacks):
    green_gates(daily_cap=5)
    cards = [approved_card() for _ in range(7)]

    result = _cycle(operator, django_capture_on_commit_callbacks)

    # It should claim the five oldest and leave the other two approved, over the cap.
    assert [line.pk for line in result.claimed] == [card.pk for card in cards[:5]]
    statuses = dict(PendingEmail.objects.values_list("pk", "status"))
    assert [statuses[card.pk] for card in cards] == ["queued"] * 5 + ["approved"] * 2
    day = RampDay.objects.get(date=operating_date())
    assert (day.dispatched_count, day.is_live, day.owner) == (5, True, "operator")
    assert all("over today's cap" in line.reasons[0] for line in result.held_back)

    import django_rq

    queue = django_rq.get_queue("dispatch")
    assert sorted(queue.job_ids) == sorted(job_id_for(card.code.hex) for card in cards[:5])
    job = queue.fetch_job(job_id_for(cards[0].code.hex))
    assert job.func_name == "outreach.jobs.dispatch_card" and job.args == (cards[0].pk,)
    transition = CardTransition.objects.get(card=cards[0], to_status="queued")
    assert transition.actor == operator and transition.from_status == "approved"


def test_it_never_claims_more_than_the_remaining_cap(operator, redis_conn, django_capture_on_commit_callbacks):
    green_gates(daily_cap=3)
    for _ in range(5):
        approved_card()

    first = _cycle(operator, django_capture_on_commit_callbacks, limit=2)
    second = _cycle(operator, django_capture_on_commit_callbacks)
    with pytest.raises(DispatchRefused) as refused:
        _cycle(operator, django_capture_on_commit_callbacks)

    assert (len(first.claimed), len(second.claimed)) == (2, 1)
    assert "cap of 3 is used" in refused.value.reasons[0]
    assert RampDay.objects.get().dispatched_count == 3
    assert PendingEmail.objects.filter(status="queued").count() == 3


def test_it_respects_the_per_company_cap(operator, redis_conn, django_capture_on_commit_callbacks):
    green_gates(daily_cap=5, per_company_daily_cap=1)
    first = approved_card(lead=make_lead(email="ana@bigco.example"))
    second = approved_card(lead=make_lead(email="bob@bigco.example"))

    result = _cycle(operator, django_capture_on_commit_callbacks)

    assert [line.pk for line in result.claimed] == [first.pk]
    (held,) = result.held_back
    assert held.pk == second.pk and "per-company cap" in held.reasons[0] and "bigco.example" in held.reasons[0]
    # A later cycle the same day still counts the first claim.
    assert _cycle(operator, django_capture_on_commit_callbacks).claimed == []


@override_settings(PENDING_QUEUE_MAX_AGE_HOURS=72)
def test_it_holds_back_every_ineligible_card_with_its_reason(operator, redis_conn, django_capture_on_commit_callbacks):
    green_gates(daily_cap=20, allowed_tiers=["tier_1"])
    good = approved_card()
    shadow = approved_card(is_shadow=True)
    stale = approved_card(age_hours=80)
    tier2 = approved_card(lead=make_lead(tier=Tier.TIER_2), campaign=make_campaign(tier=Tier.TIER_2, classifier="outbound_tier_2"))
    dnc = approved_card(lead=make_lead(do_not_contact=True, do_not_contact_reason="asked"))
    edited = approved_card()
    PendingEmail.objects.filter(pk=edited.pk).update(body=edited.body + " P.S. edited")
    placeholder = approved_card()
    PendingEmail.objects.filter(pk=placeholder.pk).update(body="Hi {first_name}, quick one?")
    PendingEmail.objects.filter(pk=placeholder.pk).update(
        approved_content_hash=PendingEmail.objects.get(pk=placeholder.pk).content_hash()
    )

    plan = dry_run()
    reasons = {line.pk: " | ".join(line.reasons) for line in plan.held_back}

    verdicts = {line.pk: line.verdict for line in plan.held_back}

    assert [line.pk for line in plan.would_send] == [good.pk]
    assert verdicts == {
        shadow.pk: "shadow",
        stale.pk: "stale",
        tier2.pk: "tier_not_sendable",
        dnc.pk: "do_not_contact",
        edited.pk: "edited_after_approval",
        placeholder.pk: "fails_compliance",
    }
    assert "do-not-contact: asked" in reasons[dnc.pk]
    assert "No placeholders" in reasons[placeholder.pk]

    # The live claim walks the same selection.
    result = _cycle(operator, django_capture_on_commit_callbacks)
    assert [line.pk for line in result.claimed] == [good.pk]
    assert {line.pk: " | ".join(line.reasons) for line in result.held_back} == reasons


def test_the_dry_run_writes_nothing(redis_conn):
    green_gates()
    approved_card()
    before = (CardTransition.objects.count(), RampDay.objects.count())

    plan = dry_run()

    assert len(plan.would_send) == 1
    assert (CardTransition.objects.count(), RampDay.objects.count()) == before
    assert PendingEmail.objects.get().status == CardStatus.APPROVED


def test_the_dry_run_shows_red_gates_and_sends_nothing(redis_conn):
    approved_card()
    raise_hold(reason="bounce spike", source="person", raised_by="pto")

    plan = dry_run()

    assert plan.would_send == []
    assert any("bounce spike" in blocker for blocker in plan.blockers)
    assert any("No preflight has run" in blocker for blocker in plan.blockers)
    assert plan.selected[0].reasons[0].startswith("blocked: Active hold #")


def test_it_refuses_with_every_reason(outsider, redis_conn):
    approved_card()
    PreflightRun.objects.create(passed=True, ran_at=PreflightRun._meta.get_field("ran_at").default() - timedelta(hours=2))
    raise_hold(reason="complaint", raised_by="pto")

    with pytest.raises(DispatchRefused) as refused:
        start_live_cycle(operator=outsider)

    text = " ".join(refused.value.reasons)
    assert "lacks the live-cycle permission" in text
    assert "complaint" in text
    assert "older than PREFLIGHT_MAX_AGE_MINUTES" in text
    # It should not claim anything nor create the day.
    assert PendingEmail.objects.get().status == CardStatus.APPROVED
    assert not RampDay.objects.exists()


def test_it_refuses_when_redis_is_down(operator):
    green_gates()
    approved_card()

    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"), pytest.raises(DispatchRefused) as refused:
        start_live_cycle(operator=operator)

    assert "REDIS_URL=redis://127.0.0.1:1/0" in refused.value.reasons[0]
    assert PendingEmail.objects.get().status == CardStatus.APPROVED


def test_canary_cards_wait_until_the_ramp_graduates(redis_conn):
    green_gates(daily_cap=5)
    canary = approved_card(is_canary=True)

    plan = dry_run()

    assert plan.would_send == []
    assert plan.held_back[0].verdict == "canary"
    assert "canary card while the ramp has not graduated" in plan.held_back[0].reasons[0]
    assert canary.pk == plan.held_back[0].pk


def test_after_graduation_tier_2_gets_only_its_canary_share(redis_conn):
    # Graduated once: cap 10, tier_2 may take 20% of it (2 a day), tier_1 the rest.
    green_gates(graduation_level=1, cap_steps=[10, 20], tier2_canary_share="0.2")
    tier2_campaign = make_campaign(tier=Tier.TIER_2, classifier="outbound_tier_2")
    tier2_cards = [approved_card(lead=make_lead(tier=Tier.TIER_2), campaign=tier2_campaign) for _ in range(4)]
    tier1_cards = [approved_card() for _ in range(3)]

    plan = dry_run()

    chosen = {line.pk for line in plan.would_send}
    assert chosen == {card.pk for card in tier2_cards[:2] + tier1_cards}
    held = {line.pk: line.reasons for line in plan.held_back}
    assert all("the tier_2 share (2/day) is used" in held[card.pk][0] for card in tier2_cards[2:])


def test_a_window_crossing_midnight_counts_its_claims_by_the_window_day(redis_conn):
    """22:00–02:00: a claim at 00:01 belongs to the day the window started, one at 00:30 the day before to that day."""
    import datetime as dt

    import time_machine

    from tests.ramp.helpers import NY

    green_gates(daily_cap=5, per_company_daily_cap=1, window_start=dt.time(22, 0), window_end=dt.time(2, 0))
    monday_window = dt.datetime(2026, 3, 3, 0, 30, tzinfo=NY)  # Tuesday's date, Monday's window
    tuesday_window = dt.datetime(2026, 3, 4, 0, 1, tzinfo=NY)  # Wednesday's date, Tuesday's window
    for at, email in ((monday_window, "ana@oldco.example"), (tuesday_window, "ana@bigco.example")):
        with time_machine.travel(at, tick=False):
            claimed = queued_card(lead=make_lead(email=email))
        assert claimed.queued_at == at
    with time_machine.travel(dt.datetime(2026, 3, 3, 23, 0, tzinfo=NY), tick=False):
        oldco = approved_card(lead=make_lead(email="bob@oldco.example"))
        bigco = approved_card(lead=make_lead(email="bob@bigco.example"))

    plan = dry_run(dt.datetime(2026, 3, 4, 0, 5, tzinfo=NY), check_redis=False)

    assert plan.date == dt.date(2026, 3, 3), plan.held_back
    assert not [line.reasons for line in plan.held_back if line.pk != bigco.pk]
    assert [line.pk for line in plan.selected] == [oldco.pk]
    (held,) = plan.held_back
    assert held.pk == bigco.pk and "per-company cap" in held.reasons[0]
