"""Ticking do-not-contact in the lead admin suppresses the lead everywhere, with its history."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from compliance.models import Suppression
from outreach.models import CardStatus, Enrollment, Lead, PendingEmail
from outreach.drafting.pipeline import run_pipeline
from tests.factories import make_campaign, make_lead

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:outreach_lead_changelist")


@pytest.fixture
def drafted(hos):
    """A lead drafted by the pipeline: enrolled, with a pending card."""
    campaign = make_campaign(ref="main")
    lead = make_lead(source="dnc-admin")
    run_pipeline(source="dnc-admin", limit=1, campaign_ref=campaign.ref, apply=True)
    return lead


def test_the_action_suppresses_the_lead_and_withdraws_its_card(client, hos, drafted):
    client.force_login(hos)
    post = {"action": "mark_do_not_contact", ACTION_CHECKBOX_NAME: [drafted.pk]}

    # Without a reason it asks for one and changes nothing.
    page = client.post(CHANGELIST, {**post, "confirm": "yes"})
    assert page.status_code == 200 and "Say why these leads must not be contacted" in page.content.decode()
    assert not Lead.objects.get(pk=drafted.pk).do_not_contact

    response = client.post(CHANGELIST, {**post, "confirm": "yes", "reason": "asked by phone"}, follow=True)

    assert "Marked 1 lead(s) do-not-contact; 1 open card(s) withdrawn." in response.content.decode()
    lead = Lead.objects.get(pk=drafted.pk)
    assert lead.do_not_contact and "asked by phone" in lead.do_not_contact_reason
    card = PendingEmail.objects.get(lead=lead)
    assert card.status == CardStatus.REJECTED and card.rejection_tag.slug == "compliance_failure"
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.STOPPED
    history = Suppression.objects.get(lead_id=lead.pk)
    assert (history.kind, history.source) == ("do_not_contact", "admin")
    assert "asked by phone (by hos)" == history.note
    # The lead page shows the history.
    page = client.get(reverse("admin:outreach_lead_change", args=[lead.pk])).content.decode()
    assert "asked by phone (by hos)" in page


def test_the_suppression_flags_cannot_be_edited_as_fields(client, hos, drafted):
    client.force_login(hos)
    url = reverse("admin:outreach_lead_change", args=[drafted.pk])
    form = {
        "email": drafted.email, "first_name": "Celia", "last_name": "K", "company": "Acme", "title": "",
        "domain": drafted.domain, "tier": drafted.tier, "source": drafted.source, "ghl_contact_id": "",
        "do_not_contact": "on", "do_not_contact_reason": "typed in", "created_at_0": "2026-01-01", "created_at_1": "00:00:00",
    }
    response = client.post(url, form)

    assert response.status_code in (200, 302)
    lead = Lead.objects.get(pk=drafted.pk)
    # The box is not a form field: the flag, the card and the history stay as they were.
    assert not lead.do_not_contact and lead.do_not_contact_reason == ""
    assert PendingEmail.objects.get(lead=lead).status == CardStatus.PENDING
    assert not Suppression.objects.exists()
    assert 'name="do_not_contact"' not in client.get(url).content.decode()
