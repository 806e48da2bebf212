"""What GHL told us, as operators see it in the admin: read-only, escaped, with the figures."""

from __future__ import annotations

import pytest
from django.utils import timezone

from outreach.models import Reply, WebhookDelivery, WebhookRefusal
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def test_a_reply_is_shown_escaped_and_only_its_classification_can_be_changed(admin_client):
    lead = make_lead()
    reply = Reply.objects.create(lead=lead, ghl_message_id="m1", text="<script>alert(1)</script>Yes please", channel="Email")

    page = admin_client.get(f"/admin/outreach/reply/{reply.pk}/change/").content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;Yes please" in page
    assert "<script>alert(1)" not in page
    # The classification (and the handled mark) are the only inputs; the text is what the lead sent.
    assert 'name="classification"' in page and 'name="handled"' in page and 'name="text"' not in page
    assert admin_client.get("/admin/outreach/reply/add/").status_code == 403


def test_quarantined_deliveries_and_refusals_are_listed(admin_client):
    WebhookDelivery.objects.create(
        dedupe_key="k1", event_type="LCEmailStats", payload={}, attempts=5, error="RuntimeError: boom",
        quarantined_at=timezone.now(),
    )
    WebhookDelivery.objects.create(dedupe_key="k2", event_type="InboundMessage", payload={}, processed_at=timezone.now())
    WebhookRefusal.objects.create(reason="location", detail="location 'x' is not ours", size=10, body_sha256="0" * 64)

    quarantined = admin_client.get("/admin/outreach/webhookdelivery/?state=quarantined").content.decode()
    assert "RuntimeError: boom" in quarantined and "k2" not in quarantined
    assert "Quarantined: 1" in quarantined and "Refused: 1" in quarantined
    refusals = admin_client.get("/admin/outreach/webhookrefusal/").content.decode()
    assert "location &#x27;x&#x27; is not ours" in refusals
