"""The campaign admin: steps inline with previews, enrollments, per-step counts."""

from __future__ import annotations

import pytest

from outreach.models import CadenceStep, Enrollment
from outreach.drafting.pipeline import run_pipeline
from tests.factories import make_campaign, make_lead

pytestmark = pytest.mark.django_db


def test_the_changelist_counts_steps_and_enrollments_in_few_queries(admin_client, django_assert_max_num_queries):
    for ref in ("a", "b", "c"):
        make_campaign(ref=ref)
    make_lead(source="wpromote")
    run_pipeline(source="wpromote", limit=1, campaign_ref="a", apply=True)

    with django_assert_max_num_queries(8):
        response = admin_client.get("/admin/outreach/campaign/")

    assert response.status_code == 200
    assert b'<td class="field-step_count">3</td>' in response.content
    assert b'<td class="field-active_enrollments">1</td>' in response.content


def test_the_change_page_previews_each_step_and_shows_progress(admin_client):
    campaign = make_campaign(ref="spring")
    lead = make_lead(source="wpromote")
    run_pipeline(source="wpromote", limit=1, apply=True)

    response = admin_client.get(f"/admin/outreach/campaign/{campaign.pk}/change/")

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count("<strong>Subject:</strong> Quick question, Celia") == 3
    # Per-step row: step 1, delay 0, enrolled 1, due today 0, drafted 1, sent 0, replied 0.
    assert "<tr><td>1</td><td>0</td><td>1</td><td>0</td><td>1</td><td>0</td><td>0</td></tr>" in content
    assert lead.email in content and "1 active" in content
    assert f"/admin/outreach/enrollment/?campaign__id__exact={campaign.pk}" in content


def test_a_step_that_cannot_be_drafted_shows_why_escaped(admin_client):
    campaign = make_campaign()
    CadenceStep.objects.filter(campaign=campaign, number=2).update(body_template="<script>x</script> {{ lead.nickname }}")
    CadenceStep.objects.filter(campaign=campaign, number=3).update(body_template="<b>{{ lead.first_name }}</b>")

    content = admin_client.get(f"/admin/outreach/campaign/{campaign.pk}/change/").content.decode()

    assert "Cannot draft: step 2 body: {{ lead.nickname }} is missing or empty" in content
    assert "<b>Celia</b>" not in content and "&lt;b&gt;Celia&lt;/b&gt;" in content


def _campaign_form(campaign, steps, *, newline: str = "\n") -> dict:
    """The campaign's change form as a browser posts it (a browser sends a textarea's line breaks as \\r\\n)."""
    data = {
        "name": campaign.name, "ref": campaign.ref, "is_active": "on", "tier": "tier_1", "classifier": "outbound_tier_1",
        "route": "ghl_email",
        "steps-TOTAL_FORMS": "3", "steps-INITIAL_FORMS": "3", "steps-MIN_NUM_FORMS": "0", "steps-MAX_NUM_FORMS": "1000",
    }
    for index, step in enumerate(steps):
        data.update({
            f"steps-{index}-id": str(step.pk), f"steps-{index}-campaign": str(campaign.pk),
            f"steps-{index}-number": str(step.number), f"steps-{index}-delay_days": str(step.delay_days),
            f"steps-{index}-subject_template": step.subject_template,
            f"steps-{index}-body_template": step.body_template.replace("\n", newline),
            f"steps-{index}-drafter": step.drafter, f"steps-{index}-prompt": step.prompt,
        })
    return data


def test_editing_a_template_bumps_its_version(admin_client):
    campaign = make_campaign(name="Spring", ref="spring")
    steps = list(campaign.steps.order_by("number"))
    data = _campaign_form(campaign, steps)
    data["steps-1-body_template"] = steps[1].body_template + "\n\nP.S. New line?"

    response = admin_client.post(f"/admin/outreach/campaign/{campaign.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert dict(campaign.steps.values_list("number", "template_version")) == {1: 1, 2: 2, 3: 1}


def test_editing_one_step_in_a_browser_bumps_that_steps_version_only(admin_client):
    campaign = make_campaign(name="Spring", ref="spring")
    steps = list(campaign.steps.order_by("number"))
    bodies = dict(campaign.steps.values_list("number", "body_template"))
    # Every textarea comes back with \r\n line breaks; only step 1's text changed.
    data = _campaign_form(campaign, steps, newline="\r\n")
    data["steps-0-body_template"] = data["steps-0-body_template"] + "\r\n\r\nP.S. New line?"

    response = admin_client.post(f"/admin/outreach/campaign/{campaign.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert dict(campaign.steps.values_list("number", "template_version")) == {1: 2, 2: 1, 3: 1}
    # The unchanged steps keep their stored text; the changed one is stored with plain line breaks.
    stored = dict(campaign.steps.values_list("number", "body_template"))
    assert (stored[2], stored[3]) == (bodies[2], bodies[3])
    assert stored[1] == bodies[1] + "\n\nP.S. New line?"


def test_the_enrollment_changelist_filters_by_campaign(admin_client):
    campaign = make_campaign()
    Enrollment.objects.create(lead=make_lead(), campaign=campaign)

    response = admin_client.get(f"/admin/outreach/enrollment/?campaign__id__exact={campaign.pk}")

    assert response.status_code == 200
