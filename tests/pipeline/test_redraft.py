"""A stale or cleanup-rejected card's lead gets fresh copy, never the old text re-approved, and is not lost."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from outreach import eligibility
from outreach.models import CardStatus, Enrollment, PendingEmail, RejectionTag
from outreach.inbound.suppression import suppress_lead
from tests.factories import make_campaign, make_lead
from tests.ramp.helpers import IN_WINDOW

pytestmark = pytest.mark.django_db

LATER = IN_WINDOW + dt.timedelta(hours=80)


def run(*args: str) -> str:
    out = StringIO()
    call_command("run_pipeline", "--source", "wpromote", "--limit", "10", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def clock():
    with time_machine.travel(IN_WINDOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def drafted(clock):
    """Three leads drafted through the pipeline, then left until their cards are stale."""
    make_campaign(ref="spring")
    leads = [make_lead(source="wpromote") for _ in range(3)]
    run("--apply")
    clock.move_to(LATER)
    return leads


def test_cleanup_then_redraft_gives_the_leads_fresh_cards_for_review(drafted):
    old = {card.lead_id: card for card in PendingEmail.objects.all()}
    call_command("cleanup_queue", "--apply", stdout=StringIO())
    call_command("cadence_tick", "--apply", stdout=StringIO())
    assert set(Enrollment.objects.values_list("status", flat=True)) == {Enrollment.Status.STOPPED}
    # A plain run does not pick them up again: they are enrolled.
    assert "skipped 3: already enrolled" in run("--apply")
    suppress_lead(drafted[2], reason="unsubscribed", source="test")

    dry = run("--redraft")
    assert f"card {old[drafted[0].pk].pk}: would get fresh copy" in dry and "skipped 1: unsubscribed" in dry
    assert PendingEmail.objects.count() == 3

    document = json.loads(run("--redraft", "--apply", "--json"))

    assert (document["drafted"], document["skipped"], document["errors"]) == (2, {"unsubscribed": 1}, [])
    for lead in drafted[:2]:
        new = PendingEmail.objects.exclude(pk=old[lead.pk].pk).get(lead=lead)
        assert document["replaced"][str(new.pk)] == old[lead.pk].pk
        # A new draft, waiting for a reviewer: the old card stays rejected and nobody approved the new text.
        assert (new.status, new.approved_content_hash, new.created_at) == (CardStatus.PENDING, "", LATER)
        assert new.compliance_passed and eligibility.judge_one(new).eligible
        assert PendingEmail.objects.get(pk=old[lead.pk].pk).status == CardStatus.REJECTED
        enrollment = Enrollment.objects.get(lead=lead)
        assert (enrollment.status, enrollment.current_step, enrollment.stop_reason) == (Enrollment.Status.ACTIVE, 1, "")
        assert new.enrollment_id == enrollment.pk
    assert not PendingEmail.objects.filter(lead=drafted[2], status=CardStatus.PENDING).exists()
    # Redrafting again finds nothing left to redraft but the suppressed lead.
    assert run("--redraft", "--apply").splitlines()[-1] == "0 drafted, 1 skipped, 0 errors."


def test_a_stale_open_card_is_replaced_not_reapproved(drafted):
    old = PendingEmail.objects.get(lead=drafted[0])

    run("--redraft", "--apply")

    old.refresh_from_db()
    assert old.status == CardStatus.REJECTED and old.rejection_tag.slug == RejectionTag.HYGIENE
    assert old.transitions.get(to_status=CardStatus.REJECTED).actor_label == "redraft"
    new = PendingEmail.objects.get(lead=drafted[0], status=CardStatus.PENDING)
    assert new.created_at == LATER and new.pk != old.pk
    # The new card's creation is recorded, so the next queue trace explains it.
    created = new.transitions.get()
    assert (created.from_status, created.to_status, created.actor_label) == ("", CardStatus.PENDING, "redraft")


def test_an_operator_redrafts_from_the_lead_list_and_a_reviewer_cannot(client, operator, hos, drafted):
    call_command("cleanup_queue", "--apply", stdout=StringIO())
    lead = drafted[0]
    action = {"action": "redraft_fresh_copy", "_selected_action": [lead.pk]}

    client.force_login(hos)
    page = client.get("/admin/outreach/lead/").content.decode()
    assert "redraft_fresh_copy" not in page

    client.force_login(operator)
    assert "redraft_fresh_copy" in client.get("/admin/outreach/lead/").content.decode()
    response = client.post("/admin/outreach/lead/", action, follow=True)

    new = PendingEmail.objects.get(lead=lead, status=CardStatus.PENDING)
    assert f"card {new.pk} replaces card" in response.content.decode()
    assert PendingEmail.objects.filter(status=CardStatus.PENDING).count() == 1
