from __future__ import annotations

from django.utils import timezone

import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from outreach.models import CardStatus, EmailEvent, RejectionTag
from outreach.reports.queue_facts import queue_facts
from outreach.transitions import transition
from ramp.models import RampPolicy, Hold, RampDay
from outreach.approval import approval_record
from tests.factories import make_campaign, make_card, make_lead, reviewer
from tests.ramp.helpers import IN_WINDOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def day():
    with time_machine.travel(IN_WINDOW, tick=False):
        RampDay.objects.create(date=IN_WINDOW.date(), is_live=True, cap=5, dispatched_count=3, sent_count=3, reported_meetings=1)
        yield IN_WINDOW


def reject(card, slug):
    transition(card, CardStatus.REJECTED, rejection_tag=RejectionTag.objects.get(slug=slug))


def test_it_reports_the_day_and_recommends_continue(day):
    for _ in range(3):
        make_card(status=CardStatus.SENT, sent_at=day, lead=make_lead(replied_at=day))
    approved = make_card()
    transition(approved, CardStatus.APPROVED, reviewed_by=reviewer(), **approval_record(approved))
    for slug in ("placeholder_text", "placeholder_text", "tone_brand", "duplicate", "weak_personalization"):
        reject(make_card(), slug)
    out = StringIO()
    call_command("daily_report", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert (report["approved"], report["rejected"], report["sent"]) == (1, 5, 3)
    assert report["rejected_by_tag"]["placeholder_text"] == 2
    assert [r["tag"] for r in report["top_rejection_reasons"]][0] == "placeholder_text"
    assert len(report["top_rejection_reasons"]) == 3
    assert report["kpis"]["replies"] == 3 and report["kpis"]["meetings"] == 1 and report["kpis"]["opens"] is None
    assert report["recommended_decision"]["decision"] == "continue"
    stored = RampDay.objects.get(date=day.date())
    assert stored.report["sent"] == 3 and stored.kpis["sent"] == 3


@pytest.mark.parametrize("level, decision", [(1, "ROLLBACK"), (0, "HOLD")])
def test_a_bounce_spike_raises_a_hold_and_recommends_rollback_only_where_it_lowers_the_cap(day, level, decision):
    RampPolicy.objects.filter(pk=RampPolicy.get().pk).update(graduation_level=level)
    for _ in range(3):
        make_card(status=CardStatus.SENT, sent_at=day, lead=make_lead(bounced_at=day))
    out = StringIO()
    call_command("daily_report", stdout=out)
    text = out.getvalue()
    assert f"Recommended decision: {decision}" in text
    assert "bounces 3 of 3 sent (100.0%) against a ceiling of 5%: one-sided exact binomial p=0.000" in text
    # Every figure of the day says what it is out of; the hold's window figure says so too.
    assert "bounces 3 of 3 sent today (100.0%)" in text
    assert ("nothing to roll back to" in text) == (level == 0)
    assert Hold.objects.active().get().source == "bounce_rate"


def test_a_lead_reappearing_after_a_send_is_found():
    campaign = make_campaign()
    lead = make_lead()
    make_card(status=CardStatus.SENT, sent_at=timezone.now(), lead=lead, campaign=campaign, step_number=2)
    again = make_card(lead=lead, campaign=campaign, step_number=1)
    facts = queue_facts()
    assert len(facts.reappeared_leads) == 1 and f"card {again.pk}" in facts.reappeared_leads[0]


def test_the_admin_shows_the_stored_report_readably(day, admin_client):
    call_command("daily_report", stdout=StringIO())
    stored = RampDay.objects.get(date=day.date())
    page = admin_client.get(f"/admin/ramp/rampday/{stored.pk}/change/")
    assert page.status_code == 200
    assert b"Recommended decision: CONTINUE" in page.content


def test_opens_complaints_and_meetings_come_from_ghl_events_unless_the_operator_entered_them(day):
    card = make_card(status=CardStatus.SENT, sent_at=day)
    for kind in ("opened", "opened", "meeting"):
        EmailEvent.objects.create(lead=card.lead, card=card, kind=kind, occurred_at=day)
    report = json.loads(_run_json())
    # reported_meetings=1 was entered by the operator and wins; opens come from events; complaints have no source.
    assert (report["kpis"]["opens"], report["kpis"]["meetings"], report["kpis"]["complaints"]) == (2, 1, None)


def _run_json() -> str:
    out = StringIO()
    call_command("daily_report", "--json", stdout=out)
    return out.getvalue()


def test_the_sla_backlog_counts_only_cards_a_reviewer_should_decide():
    overdue = make_card(age_hours=3)
    make_card(age_hours=3, is_canary=True)
    make_card(age_hours=3, lead=make_lead(tier="tier_2"), campaign=make_campaign(tier="tier_2", classifier="outbound_tier_2"))
    make_card(age_hours=100)
    make_card(age_hours=1)
    facts = queue_facts()
    assert len(facts.sla_overdue) == 1 and f"card {overdue.pk} " in facts.sla_overdue[0]
