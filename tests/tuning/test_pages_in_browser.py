"""The index's charts and the tuning page in headless Chromium, as a Head of Sales sees them (screenshots kept)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from outreach.models import CardStatus, EmailEvent, Lead, RejectionTag, Reply
from outreach.roles import HEAD_OF_SALES
from outreach.transitions import transition
from tests.factories import make_campaign, make_card, make_lead, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def a_fortnight_of_sending(campaign) -> None:
    """Sends over the last two weeks with what came back, and a week of reviews of two versions."""
    now = timezone.now()
    for days_ago in range(14):
        when = now - dt.timedelta(days=days_ago)
        for n in range(3 + days_ago % 3):
            lead = make_lead()
            card = make_card(status=CardStatus.SENT, campaign=campaign, lead=lead, template_version="v1" if n % 2 else "v2", sent_at=when)
            EmailEvent.objects.create(lead=lead, card=card, kind="delivered", occurred_at=when)
            if n == 0:
                Reply.objects.create(lead=lead, card=card, ghl_message_id=uuid.uuid4().hex, text="Sounds good, call me.",
                                     classification=Reply.Classification.INTERESTED, received_at=when)
                Lead.objects.filter(pk=lead.pk).update(replied_at=when)
                EmailEvent.objects.create(lead=lead, card=card, kind="replied", occurred_at=when)
            if n == 1 and days_ago % 4 == 0:
                Lead.objects.filter(pk=lead.pk).update(bounced_at=when)
                EmailEvent.objects.create(lead=lead, card=card, kind="bounced", occurred_at=when)
    for slug, version, count in (("placeholder_text", "v1", 3), ("tone_brand", "v1", 1), ("tone_brand", "v2", 2), ("duplicate", "v2", 1)):
        for _ in range(count):
            transition(make_card(campaign=campaign, template_version=version), CardStatus.REJECTED,
                       rejection_tag=RejectionTag.objects.get(slug=slug))


def test_the_index_draws_thirty_days_and_the_tuning_page_compares_versions(seeded, page, live_server, login, screenshots):
    a_fortnight_of_sending(make_campaign(name="Wpromote tier 1"))
    login(make_user("celia", role=HEAD_OF_SALES))

    page.goto(f"{live_server.url}/admin/")
    chart = page.locator("#kpi-chart svg")
    assert chart.is_visible() and chart.locator("polyline").count() == 4
    assert page.locator("#kpi-streak svg").is_visible()
    assert "sent" in page.locator("#kpi-today").inner_text()
    page.screenshot(path=str(screenshots / "index-kpis.png"), full_page=True)
    # Nothing makes the index scroll sideways (the charts' tables for screen readers included),
    # and the hold's reason box stays inside its tile.
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    tile, box = page.locator("#tile-holds").bounding_box(), page.locator("#id_copy_failure_reason").bounding_box()
    assert box["x"] + box["width"] <= tile["x"] + tile["width"]

    page.click("#tuning-link")
    page.wait_for_url("**/admin/tuning/")
    assert page.locator("table.tuning-step thead th").all_text_contents()[1:] == ["version v1", "version v2"]
    assert page.locator("#top-reasons tr").count() == 1 + 3
    assert page.locator(".tuning svg rect").count() >= 3
    page.screenshot(path=str(screenshots / "tuning.png"), full_page=True)

    page.click("table.tuning-step tr.tag a >> nth=0")
    page.wait_for_url("**/admin/tuning/examples/**")
    assert page.locator("#example-cards tr").count() > 1
