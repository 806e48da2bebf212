"""Widening only through graduation or two persons: the operator's policy form refuses a wider policy in one
sentence, an operator proposes and the Head of Sales approves, and narrowing takes effect at once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from outreach.sending.select import dry_run
from ramp import services
from ramp.days import operating_date
from ramp.models import RampDay, RampPolicy, RampPolicyChange
from ramp.preflight import check_ramp
from tests.dispatch.helpers import approved_card, green_gates
from tests.ramp.helpers import IN_WINDOW, head_of_sales_signs_off_and_confirms, live_day, replay_and_smoke_passed
from tests.ramp.test_admin import policy_form

pytestmark = pytest.mark.django_db

REFUSAL = "widening happens only by graduation, or by a two-person change that an operator proposes under Ramp policy changes and the Head of Sales approves"

# (setting, a wider value, a narrower value) against the defaults.
WIDER_AND_NARROWER = [
    ("daily_cap", 6, 4),
    ("per_company_daily_cap", 2, 0),
    ("allowed_tiers", ["tier_1", "tier_2"], []),
    ("cap_steps", [10, 25, 40], [10, 20]),
    ("tier2_canary_share", Decimal("0.300"), Decimal("0.100")),
    ("clean_days_required", 2, 4),
    ("max_bounce_rate", Decimal("0.0600"), Decimal("0.0400")),
    ("max_unsubscribe_rate", Decimal("0.0300"), Decimal("0.0100")),
    ("max_complaint_rate", Decimal("0.0020"), Decimal("0.0005")),
    ("min_reply_rate", Decimal("-0.0100"), Decimal("0.0100")),
    ("stop_confidence", Decimal("0.9900"), Decimal("0.9000")),
    ("bounce_hold_count", 0, 2),
    ("unsubscribe_hold_count", 5, 1),
    ("complaint_hold_count", 2, 1),
    ("graduation_level", 1, 0),
]


@pytest.mark.parametrize(("name", "wider", "narrower"), WIDER_AND_NARROWER)
def test_each_setting_is_judged_in_its_own_direction(name, wider, narrower):
    before = RampPolicy()
    widened = RampPolicy(**{name: wider})
    # It should name the setting that widens, and find nothing wider in the other direction.
    assert len(widened.widenings(before)) == 1, widened.widenings(before)
    assert RampPolicy(**{name: narrower}).widenings(before) == []
    assert before.widenings(before) == []


def test_a_cap_step_added_at_the_end_widens():
    assert RampPolicy(cap_steps=[10, 20, 40, 80]).widenings(RampPolicy()) == ["cap steps [10, 20, 40] → [10, 20, 40, 80]"]


def test_the_operator_raising_the_cap_or_tiers_in_the_admin_is_refused_in_one_sentence(client, operator):
    policy = RampPolicy.get()
    client.force_login(operator)
    url = f"/admin/ramp/ramppolicy/{policy.pk}/change/"
    for wider, named in [
        ({"daily_cap": 500}, "daily cap 5 → 500"),
        ({"allowed_tiers": '["tier_1", "tier_2", "tier_3"]'}, "allowed tiers gain tier_2, tier_3"),
        ({"per_company_daily_cap": 50, "cap_steps": "[500, 600]"}, "per company daily cap 1 → 50; cap steps [10, 20, 40] → [500, 600]"),
    ]:
        response = client.post(url, {**policy_form(policy), **wider})
        # It should answer the form again with the refusal, and save nothing.
        assert response.status_code == 200
        errors = response.context["adminform"].form.non_field_errors()
        assert errors == [f"This widens sending ({named}): {REFUSAL}."]
        stored = RampPolicy.get()
        assert (stored.daily_cap, stored.allowed_tiers, stored.per_company_daily_cap) == (5, ["tier_1"], 1)


def test_the_service_refuses_widening_whoever_asks(admin_user):
    # The superuser holds every permission; widening is still not a form's or a person's to do alone.
    with pytest.raises(services.PolicyWidening, match=REFUSAL):
        services.change_policy(by=admin_user.username, values={"daily_cap": 500})
    assert RampPolicy.get().daily_cap == 5


@time_machine.travel(IN_WINDOW, tick=False)
def test_narrowing_in_the_admin_takes_effect_at_once(client, operator):
    green_gates(daily_cap=5)
    for _ in range(3):
        approved_card()
    RampDay.objects.create(date=operating_date(), cap=5)
    policy = RampPolicy.get()
    client.force_login(operator)
    response = client.post(
        f"/admin/ramp/ramppolicy/{policy.pk}/change/",
        {**policy_form(policy), "window_start": "00:00", "window_end": "23:59:59", "daily_cap": 2, "cap_steps": "[10, 20]"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    assert (RampPolicy.get().daily_cap, RampPolicy.get().cap_steps) == (2, [10, 20])
    # Today's cap comes down with it, and the next cycle would claim 2, not 3.
    assert RampDay.objects.get(date=operating_date()).cap == 2
    plan = dry_run(check_redis=False)
    assert plan.cap == 2 and len(plan.selected) == 2


@time_machine.travel(IN_WINDOW, tick=False)
def test_the_claim_and_preflight_hold_the_cap_to_the_graduation_level():
    green_gates(daily_cap=5)
    for _ in range(3):
        approved_card()
    # A day's cap written wider by hand: the claim should use the level's cap, and preflight should say so.
    RampDay.objects.create(date=operating_date(), cap=50)
    plan = dry_run(check_redis=False)
    assert plan.cap == 5
    passed, detail = check_ramp(type("Ctx", (), {"now": IN_WINDOW})())
    assert not passed and "today's cap 50 is over the 5/day of graduation level 0" in detail


def propose(client, policy: RampPolicy, **values):
    form = {**policy_form(policy), "reason": "the list is clean and the HoS wants tier 2 this week", **values}
    for name in ("mode", "window_start", "window_end"):
        form.pop(name)
    return client.post("/admin/ramp/ramppolicychange/add/", form)


def test_an_operator_proposes_and_the_head_of_sales_approves(client, operator, hos):
    policy = RampPolicy.get()
    client.force_login(operator)
    page = client.get("/admin/ramp/ramppolicychange/add/")
    # The proposal starts from the values in force.
    assert page.status_code == 200 and page.context["adminform"].form.initial["daily_cap"] == 5
    response = propose(client, policy, daily_cap=8, allowed_tiers='["tier_1", "tier_2"]')
    assert response.status_code == 302
    change = RampPolicyChange.objects.get()
    assert change.status == "proposed" and change.proposed_by == "operator"
    assert change.changes == {"daily_cap": [5, 8], "allowed_tiers": [["tier_1"], ["tier_1", "tier_2"]]}
    # Nothing widens on a proposal alone, and the operator has no way to approve it.
    assert RampPolicy.get().daily_cap == 5
    url = f"/admin/ramp/ramppolicychange/{change.pk}/change/"
    assert b"_approve_change" not in client.get(url).content
    assert client.post(url, {"_approve_change": "1"}).status_code == 403

    client.force_login(hos)
    assert b"_approve_change" in client.get(url).content
    response = client.post(url, {"_approve_change": "1", "decision_note_input": "agreed"}, follow=True)
    assert any("Approved change #%d" % change.pk in str(m) for m in response.context["messages"])
    change.refresh_from_db()
    assert (change.status, change.decided_by, change.decision_note) == ("approved", "hos", "agreed")
    stored = RampPolicy.get()
    assert (stored.daily_cap, stored.allowed_tiers) == (8, ["tier_1", "tier_2"])


def test_a_proposal_that_widens_nothing_is_refused(client, operator):
    client.force_login(operator)
    response = propose(client, RampPolicy.get(), daily_cap=3)
    assert response.status_code == 200
    assert "This change widens nothing" in str(response.context["adminform"].form.non_field_errors())
    assert not RampPolicyChange.objects.exists()


def test_two_persons_means_two(operator, hos):
    operator.groups.add(*hos.groups.all())
    change = services.propose_policy_change(by="operator", values={"daily_cap": 8}, reason="ready")
    with pytest.raises(services.RampError, match="needs a second person: operator proposed change"):
        services.approve_policy_change(change_id=change.pk, by="operator")
    with pytest.raises(services.RampError, match="'operator' may not propose|may not approve"):
        services.approve_policy_change(change_id=change.pk, by="pto")
    assert RampPolicy.get().daily_cap == 5


def test_a_proposal_made_against_older_values_is_not_applied(operator, hos):
    change = services.propose_policy_change(by="operator", values={"daily_cap": 8}, reason="ready")
    services.change_policy(by="operator", values={"daily_cap": 4})
    with pytest.raises(services.RampError, match="changed since change #%d was proposed \\(daily_cap\\)" % change.pk):
        services.approve_policy_change(change_id=change.pk, by="hos")
    rejected = services.reject_policy_change(change_id=change.pk, by="hos", note="stale")
    assert rejected.status == "rejected" and RampPolicy.get().daily_cap == 4
    with pytest.raises(services.RampError, match="already rejected by hos"):
        services.approve_policy_change(change_id=change.pk, by="hos")


def test_graduation_widens_past_the_form(operator):
    # The same steps the form may not take, graduation takes once the clean days and the HoS' records are there.
    today = operating_date()
    for offset in (2, 1, 0):
        live_day(today - dt.timedelta(days=offset))
    head_of_sales_signs_off_and_confirms(today)
    replay_and_smoke_passed()
    before = RampPolicy.get()
    graduated = services.graduate(by="operator", today=today)
    assert graduated.widenings(before) == ["graduation level 0 → 1"]
    assert graduated.current_cap() == 10
