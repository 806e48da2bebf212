from __future__ import annotations

import datetime as dt

import pytest
from django.utils.html import escape

from ramp.days import operating_date
from ramp.models import Hold, RampDay, RampPolicy
from tests.ramp.helpers import head_of_sales_signs_off_and_confirms, live_day, replay_and_smoke_passed

pytestmark = pytest.mark.django_db


def policy_form(policy: RampPolicy) -> dict:
    return {
        "daily_cap": policy.daily_cap,
        "per_company_daily_cap": policy.per_company_daily_cap,
        "allowed_tiers": '["tier_1"]',
        "cap_steps": "[10, 20, 40]",
        "tier2_canary_share": "0.200",
        "mode": policy.mode,
        "clean_days_required": policy.clean_days_required,
        "window_start": "15:00",
        "window_end": "18:00",
        "max_bounce_rate": "0.05",
        "max_unsubscribe_rate": "0.02",
        "max_complaint_rate": "0.001",
        "min_reply_rate": "0",
        "stop_confidence": "0.95",
        "bounce_hold_count": "3",
        "unsubscribe_hold_count": "2",
        "complaint_hold_count": "1",
    }


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_graduate_button_refuses_with_reasons_then_graduates(admin_client):
    policy = RampPolicy.get()
    url = f"/admin/ramp/ramppolicy/{policy.pk}/change/"
    page = admin_client.get(url)
    assert b"0 of 3 clean supervised live days" in page.content and b'name="_graduate"' in page.content
    # The stop test's settings sit beside the ceilings they judge.
    assert b'name="stop_confidence"' in page.content and b'name="unsubscribe_hold_count"' in page.content
    response = admin_client.post(url, {**policy_form(policy), "_graduate": "1"}, follow=True)
    assert any("Graduation refused" in m for m in messages_of(response))
    today = operating_date()
    for offset in (2, 1, 0):
        live_day(today - dt.timedelta(days=offset))
    head_of_sales_signs_off_and_confirms(today)
    replay_and_smoke_passed()
    response = admin_client.post(url, {**policy_form(policy), "_graduate": "1"}, follow=True)
    assert any("Graduated to level 1: cap 10/day" in m for m in messages_of(response))


def test_the_decision_buttons_record_the_decision(admin_client):
    day = live_day(dt.date(2026, 2, 19), decision="")
    url = f"/admin/ramp/rampday/{day.pk}/change/"
    form = {"reported_opens": "", "reported_meetings": "", "reported_complaints": "", "notes": ""}
    response = admin_client.post(url, {**form, "_decide_hold": "1", "decision_reason_input": ""}, follow=True)
    assert any("needs a reason" in m for m in messages_of(response))
    admin_client.post(url, {**form, "_decide_hold": "1", "decision_reason_input": "HoS wants a look"})
    day.refresh_from_db()
    assert day.decision == "hold" and day.decided_by == "admin"
    assert Hold.objects.active().get().raised_by == "admin"


def test_holds_are_raised_and_cleared_by_a_person_with_a_reason(admin_client):
    admin_client.post("/admin/ramp/hold/add/", {"reason": "formatting failure"})
    hold = Hold.objects.get()
    assert hold.source == "person" and hold.raised_by == "admin"
    url = f"/admin/ramp/hold/{hold.pk}/change/"
    response = admin_client.post(url, {"_clear_hold": "1", "clear_reason_input": ""}, follow=True)
    assert any("Clearing a hold needs a reason" in m for m in messages_of(response))
    admin_client.post(url, {"_clear_hold": "1", "clear_reason_input": "fixed the template"})
    hold.refresh_from_db()
    assert not hold.is_active and hold.cleared_by == "admin" and hold.clear_reason == "fixed the template"


@pytest.mark.parametrize("url", ["/admin/", "/admin/ramp/rampday/", "/admin/outreach/pendingemail/", "/admin/compliance/donotcontact/"])
def test_the_hold_lines_reach_every_admin_page(admin_client, url):
    hold = Hold.objects.create(reason="bounce spike", source="bounce_rate")
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["ramp_hold_lines"][0].startswith("ON HOLD")
    banner = response.content.decode().split('id="hold-banner"', 1)[1].split("</div>", 1)[0]
    assert f"<li>{escape(hold.as_line())}</li>" in banner


def test_preflight_runs_and_traces_are_read_only(admin_client):
    assert admin_client.get("/admin/ramp/preflightrun/").status_code == 200
    assert admin_client.get("/admin/ramp/queuetrace/").status_code == 200
    assert admin_client.get("/admin/ramp/preflightrun/add/").status_code == 403
    assert RampDay.objects.count() == 0


def test_a_complaint_entered_by_hand_holds_as_it_is_saved_and_once_with_ghls(admin_client):
    """The operator copies GHL's reporting into the day: the stop conditions judge it on save, as a webhook's would be."""
    import time_machine

    from outreach.inbound.suppression import suppress_lead
    from outreach.models import CardStatus, EmailEvent
    from tests.factories import make_card
    from tests.ramp.helpers import IN_WINDOW

    with time_machine.travel(IN_WINDOW, tick=False):
        cards = [make_card(status=CardStatus.SENT, queued_at=IN_WINDOW, sent_at=IN_WINDOW) for _ in range(2)]
        day = live_day(IN_WINDOW.date(), decision="")
        form = {"reported_opens": "", "reported_meetings": "", "reported_complaints": "1", "notes": ""}
        response = admin_client.post(f"/admin/ramp/rampday/{day.pk}/change/", form, follow=True)

        (hold,) = Hold.objects.active()
        assert hold.source == "complaint_rate" and hold.evidence == [f"complaint:{day.date}:1"]
        assert f"admin's entry of 1 complaint(s) about {day.date}'s emails" in hold.reason
        assert any("Held: hold #" in m for m in messages_of(response))
        # GHL's webhook for the same complaint: the same evidence, no second hold.
        EmailEvent.objects.create(lead=cards[0].lead, card=cards[0], kind=EmailEvent.Kind.COMPLAINED, occurred_at=IN_WINDOW)
        suppress_lead(cards[0].lead, reason="complained", source="ghl:LCEmailStats:complained")
    assert Hold.objects.count() == 1 and Hold.objects.get().evidence == [f"complaint:{day.date}:1"]


def test_the_decision_panel_is_offered_to_an_operator_on_a_live_day_waiting_for_it_only(client, hos, operator):
    waiting = live_day(dt.date(2026, 3, 2), decision="")
    decided = live_day(dt.date(2026, 3, 3))
    quiet = RampDay.objects.create(date=dt.date(2026, 3, 4), cap=5)

    def panel(user, day) -> bool:
        client.force_login(user)
        page = client.get(f"/admin/ramp/rampday/{day.pk}/change/")
        assert page.status_code == 200
        return "Decide the next day" in page.content.decode()

    assert panel(operator, waiting)
    assert not panel(operator, decided) and not panel(operator, quiet)
    # The Head of Sales reads the day and its report; deciding it is the operator's.
    assert not panel(hos, waiting)
