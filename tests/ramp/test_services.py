from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ramp import services
from ramp.holds import raise_hold
from ramp.limits import tier_caps
from ramp.models import Hold, QueueTrace, RampDay, RampPolicy
from tests.factories import personal_token
from tests.ramp.helpers import head_of_sales_signs_off_and_confirms, live_day, replay_and_smoke_passed

TODAY = dt.date(2026, 2, 20)


def days_before(n: int) -> list[dt.date]:
    return [TODAY - dt.timedelta(days=i) for i in range(n - 1, -1, -1)]


@pytest.mark.django_db
def test_it_refuses_graduation_before_three_clean_days():
    for date in days_before(2):
        live_day(date)
    with pytest.raises(services.GraduationRefused) as refused:
        services.graduate(by="pto", today=TODAY)
    assert "2 of 3 clean supervised live days" in str(refused.value)
    # It should leave the cap where it was.
    assert RampPolicy.get().current_cap() == 5


@pytest.mark.django_db
def test_it_graduates_after_three_clean_days_and_opens_the_tier2_canary():
    for date in days_before(3):
        live_day(date)
    head_of_sales_signs_off_and_confirms(TODAY)
    replay_and_smoke_passed()
    policy = services.graduate(by="pto", today=TODAY)
    assert policy.graduation_level == 1
    assert policy.current_cap() == 10
    assert tier_caps(policy) == {"tier_1": 10, "tier_2": 2}
    # The next level needs a new streak that starts tomorrow.
    assert policy.streak_starts_on == TODAY + dt.timedelta(days=1)
    with pytest.raises(services.GraduationRefused):
        services.graduate(by="pto", today=TODAY)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "spoiler, expected",
    [
        ({"errors": 1}, "1 send error(s)"),
        ({"hold": True}, "a hold was active"),
        ({"sent": 0}, "nothing was sent"),
        ({"decision": ""}, "counts toward graduation once it is decided continue"),
        ({"kpis": {}}, "counts toward graduation once its daily report is run"),
        ({"kpis": {"sent": 5, "bounces": 3}}, "bounces 3 of 5 sent (60.0%) against a ceiling of 5%: one-sided exact binomial p=0.001"),
        ({"kpis": {"sent": 2, "unsubscribes": 2}}, "count 2 reaches the policy's hold at 2"),
    ],
)
def test_it_names_the_day_that_breaks_the_streak(spoiler, expected):
    first, second, third = days_before(3)
    live_day(first)
    live_day(second, **spoiler)
    live_day(third)
    review = services.graduation_review(today=TODAY)
    assert not review.allowed
    assert any(expected in reason and str(second) in reason for reason in review.reasons), review.reasons
    # The refusal says what clears it: the missing record, or clean days after it.
    clears = "`)" if "once" in expected else "2 more clean live day(s) after it clear it"
    assert any(str(second) in reason and reason.endswith(clears) for reason in review.reasons), review.reasons


@pytest.mark.django_db
def test_days_without_a_live_run_neither_count_nor_break_the_streak():
    live_day(TODAY - dt.timedelta(days=5))
    RampDay.objects.create(date=TODAY - dt.timedelta(days=4), is_live=False)
    live_day(TODAY - dt.timedelta(days=3))
    live_day(TODAY)
    head_of_sales_signs_off_and_confirms(TODAY)
    replay_and_smoke_passed()
    assert services.graduation_review(today=TODAY).allowed


@pytest.mark.django_db
def test_it_refuses_graduation_while_a_hold_is_active_or_drift_was_flagged():
    for date in days_before(3):
        live_day(date)
    QueueTrace.objects.create(
        counts={}, drift={"flags": ["by_status pending: -1 (threshold 1)"]}, drift_flagged=True,
        taken_at=dt.datetime(2026, 2, 19, 20, tzinfo=dt.UTC),
    )
    raise_hold(reason="checking", raised_by="pto")
    reasons = services.graduation_review(today=TODAY).reasons
    assert "a hold is active" in reasons
    # It names the day, the flags and what clears it.
    assert (
        "a queue trace flagged drift on 2026-02-19 (20:00 UTC: by_status pending: -1 (threshold 1)): "
        "find what changed the queue, then 3 clean live days after 2026-02-19 clear it"
    ) in reasons


@pytest.mark.django_db
def test_a_rollback_steps_the_cap_back_restarts_the_streak_and_holds():
    policy = RampPolicy.get()
    policy.graduation_level = 1
    policy.save()
    live_day(TODAY, decision="")
    services.decide(decision="rollback", by="pto", reason="bounces rose", date=TODAY)
    policy.refresh_from_db()
    assert policy.graduation_level == 0 and policy.current_cap() == 5
    assert tier_caps(policy) == {"tier_1": 5}
    assert policy.streak_starts_on == TODAY + dt.timedelta(days=1)
    assert Hold.objects.active().get().reason.startswith(f"Decision for {TODAY}: rollback to 5/day")


@pytest.mark.django_db
def test_a_decision_needs_a_reason_a_name_and_is_not_rewritten():
    live_day(TODAY, decision="")
    with pytest.raises(services.RampError, match="needs a reason"):
        services.decide(decision="hold", by="pto", date=TODAY)
    with pytest.raises(services.RampError, match="a named person is required"):
        services.decide(decision="continue", by=" ", date=TODAY)
    services.decide(decision="continue", by="pto")
    with pytest.raises(services.RampError, match="already decided"):
        services.decide(decision="hold", by="pto", reason="x", date=TODAY)


@pytest.mark.django_db
def test_a_day_with_no_live_run_has_nothing_to_decide():
    quiet = RampDay.objects.create(date=TODAY, cap=5)

    with pytest.raises(services.RampError, match=f"{TODAY} had no live run: there is nothing to decide"):
        services.decide(decision="continue", by="pto", date=TODAY)

    quiet.refresh_from_db()
    assert not quiet.awaits_decision and quiet.decision == ""
    assert str(quiet) == f"{TODAY} (no live run)"


@pytest.mark.django_db
def test_the_ramp_command_holds_clears_decides_and_graduates():
    out = StringIO()
    call_command("ramp", "hold", "--reason", "HoS flagged formatting", "--by", "pto", stdout=out)
    assert "ON HOLD" in out.getvalue()
    token = personal_token("pto")
    with pytest.raises(CommandError, match="needs a reason"):
        call_command("ramp", "clear", "--all", "--reason", " ", "--token", token, stdout=StringIO())
    call_command("ramp", "clear", "--all", "--reason", "copy fixed", "--token", token, stdout=out)
    assert not Hold.objects.active().exists()
    assert Hold.objects.get().clear_reason == "copy fixed"

    live_day(TODAY, decision="")
    call_command("ramp", "decide", "continue", "--by", "pto", "--token", token, "--date", str(TODAY), stdout=out)
    assert RampDay.objects.get(date=TODAY).decision == "continue"

    with pytest.raises(CommandError, match="Graduation refused: 1 of 3"):
        call_command("ramp", "graduate", stdout=StringIO())
    with pytest.raises(CommandError, match="--date must look like"):
        call_command("ramp", "decide", "hold", "--token", token, "--reason", "x", "--date", "19/02", stdout=StringIO())


@pytest.mark.django_db
def test_ramp_status_prints_json_and_text():
    out = StringIO()
    call_command("ramp", "status", "--json", stdout=out)
    state = json.loads(out.getvalue())
    assert state["policy"]["current_cap"] == 5 and state["holds"] == []
    out = StringIO()
    call_command("ramp", "status", stdout=out)
    assert "cap 5/day (per company 1)" in out.getvalue()


@pytest.mark.django_db
def test_graduation_needs_replay_and_smoke_passed_since_the_last_deploy():
    from caio.models import GateRun
    from caio.releases import record_gate_run, record_start

    for date in days_before(3):
        live_day(date)
    head_of_sales_signs_off_and_confirms(TODAY)
    assert services.graduation_review(today=TODAY).reasons == [
        "no replay has run (run `manage.py replay`)",
        "no smoke has run (run `manage.py smoke --base-url URL`)",
    ]
    replay_and_smoke_passed()
    assert services.graduation_review(today=TODAY).allowed
    # A new deploy asks for both again; a failed smoke since it is named as such.
    record_start("v2")
    record_gate_run(GateRun.Kind.SMOKE, passed=False, target="http://127.0.0.1:8000", summary="8 of 9 checks passed")
    reasons = services.graduation_review(today=TODAY).reasons
    assert reasons[0].startswith("no replay has run since the deploy of v2 (")
    assert reasons[1].startswith("the last smoke since the deploy of v2 (") and "failed" in reasons[1]
    # A restart of the same code is no new deploy.
    replay_and_smoke_passed()
    assert record_start("v2")[1] is False
    assert services.graduation_review(today=TODAY).allowed
