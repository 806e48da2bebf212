"""The cast and the world the security tests ask every URL about."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from outreach.roles import HEAD_OF_SALES, OPERATOR
from tests.factories import make_user
from tests.security.urlmatrix import closed_port


@pytest.fixture
def role_clients(db) -> dict[str, Client]:
    """One logged-in client per kind of user (and one anonymous), none raising on a 500."""
    users = {
        "staff": make_user("matrix-staff"),
        "hos": make_user("matrix-hos", role=HEAD_OF_SALES),
        "operator": make_user("matrix-operator", role=OPERATOR),
        "super": make_user("matrix-super", superuser=True),
    }
    clients = {"anon": Client(raise_request_exception=False)}
    for role, user in users.items():
        clients[role] = Client(raise_request_exception=False)
        clients[role].force_login(user)
    return clients


@pytest.fixture
def world(db, redis_conn, settings):
    """Rows for every admin model and a job, a result and a worker in Redis, so each URL gets a real id."""
    # Preflight asks GHL: let it find nothing listening rather than any sandbox on the default port.
    settings.GHL_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    import django_rq
    from rq import Queue, SimpleWorker

    call_command("seed_demo", verbosity=0)
    _rows_seed_demo_leaves_out()
    # A plain rq queue: django-rq's would wait for a commit the test never makes.
    queue = Queue("default", connection=django_rq.get_connection("default"))
    job = queue.enqueue("os.getcwd")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    job.refresh()
    worker = SimpleWorker([queue], connection=queue.connection, name="matrix-worker")
    worker.register_birth()
    return {"job": job, "worker": worker}


def _rows_seed_demo_leaves_out() -> None:
    """Create, through the product's own functions where it has one, a row of each admin model seed_demo leaves empty."""
    from django.utils import timezone

    from caio.models import ApiToken
    from compliance.models import IdentityCollision, Suppression
    from outreach.models import (
        Campaign, CardStatus, DispatchAttempt, DraftingRun, EmailEvent, Lead, LeadImport, PendingEmail, PromptVersion, Reply, WebhookDelivery,
        WebhookRefusal,
    )
    from outreach.drafting.runs import start_run
    from outreach.leads.imports import start_import
    from outreach.reports.queue_facts import take_trace
    from outreach.sending.cycles import record_refused
    from outreach.inbound.suppression import suppress_lead
    from outreach.roles import OPERATOR
    from ramp.holds import raise_hold
    from ramp.models import QueueTrace
    from ramp.preflight import run_preflight

    ApiToken.issue("matrix", created_by="matrix")
    from caio.models import GateRun
    from caio.releases import record_gate_run, record_start

    record_start("matrix-version")
    record_gate_run(GateRun.Kind.SMOKE, passed=True, target="http://127.0.0.1:8000", summary="matrix")
    sent = PendingEmail.objects.filter(status=CardStatus.SENT).first()
    DispatchAttempt.objects.create(card=sent, outcome=DispatchAttempt.Outcome.SENT, worker="matrix")
    suppress_lead(Lead.objects.exclude(pk=sent.lead_id).first(), reason="unsubscribed", source="matrix")
    raise_hold(reason="matrix", raised_by="matrix")
    run_preflight(ran_by="matrix")
    take_trace(threshold=10, taken_by="matrix")
    record_refused(operator="matrix", now=timezone.now(), reasons=["matrix"])
    post_signed_webhook(sent)
    # The Head of Sales' sign-off, through the product; a confirmation needs a clean streak the demo has not run.
    from ramp.quality import QualityConfirmation
    from ramp.services import sign_off_quality

    sign_off_quality(by=make_user("matrix-signer", role=HEAD_OF_SALES).get_username())
    QualityConfirmation.objects.create(confirmed_by="matrix-signer", graduation_level=0, streak_began=timezone.now().date())
    from ramp.services import propose_policy_change

    propose_policy_change(by=make_user("matrix-proposer", role=OPERATOR).get_username(), values={"daily_cap": 6}, reason="matrix")
    start_import(text="email,tier\nmatrix@x.example,tier_1\n", file_name="matrix.csv", upload_key="matrix", rows_total=1)
    # A lead at a look-alike domain ("аcme", a Cyrillic а): saving it records the warning its confirmation URL acts on.
    lookalike = Lead.objects.create(email="matrix@\u0430cme.example", first_name="Matrix", company="Acme", source="matrix")
    assert lookalike.lookalike, "a mixed-script domain should be recorded as a look-alike"
    # A drafting run, as the admin's start form writes it (its job is enqueued on a commit the test never makes).
    drafter = make_user("matrix-drafter", role=OPERATOR)
    start_run(campaign=Campaign.objects.filter(is_active=True).first(), source="matrix", limit=1, mode="shadow", user=drafter)
    # Rows only GHL or the identity migration write; no product function makes them on demand.
    Reply.objects.create(lead=sent.lead, card=sent, text="Sounds good, call me.", ghl_message_id="matrix-reply")
    WebhookRefusal.objects.create(
        reason=WebhookRefusal.Reason.LOCATION, detail="matrix", headers={}, size=2, body_sha256="0" * 64
    )
    IdentityCollision.objects.create(
        kind=IdentityCollision.Kind.values[0], lead_id=sent.lead_id, stored_value=sent.lead.email, detail="matrix"
    )
    for model in (LeadImport, Suppression, WebhookDelivery, EmailEvent, QueueTrace, Reply, WebhookRefusal, IdentityCollision, DraftingRun, PromptVersion):
        assert model.objects.exists(), model


def post_signed_webhook(card) -> None:
    """Deliver one signed LCEmailStats webhook for `card` through the public endpoint."""
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from ghl.sandbox.keys import ed25519_key
    from ghl.webhooks import WebhookSigner, compact_json, public_key_pem

    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = public_key_pem(ed25519_key())
    body = compact_json(
        {
            "type": "LCEmailStats",
            "locationId": settings.GHL_LOCATION_ID,
            "webhookId": "matrix-webhook-1",
            "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
            "webhookPayload": {
                "event": "delivered",
                "id": "matrix-event-1",
                "recipient": card.lead.email,
                "lc-operations": {"email_message_id": card.ghl_email_message_id or card.ghl_message_id},
            },
        }
    )
    response = Client().post(
        "/webhooks/ghl/", data=body, content_type="application/json", headers=WebhookSigner(ed25519_key()).headers(body)
    )
    assert response.status_code == 200, response.content
