"""Every URL refuses a POST without a CSRF token, except the few that authenticate otherwise."""

from __future__ import annotations

from django.test import Client

from tests.factories import make_user
from tests.security.urlmatrix import concrete_path, values_for, walk

# Each exemption and what authenticates the request instead of a cookie.
CSRF_EXEMPT = {
    "/webhooks/ghl/": "GHL's signature over the body",
    "/unsubscribe/<str:token>/": "the signed token; RFC 8058 one-click unsubscribe comes from mail clients",
    "/api/health": "the API reads a token from a header, never a cookie",
    "/api/ready": "the API reads a token from a header, never a cookie",
    "/api/pending-emails": "the API reads a token from a header, never a cookie",
    "/api/rejection-tags": "the API reads a token from a header, never a cookie",
    "/api/ramp": "the API reads a token from a header, never a cookie",
}


def test_every_other_url_refuses_a_post_without_a_csrf_token(world, db):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(make_user("csrf-super", superuser=True))
    values = values_for(world)

    not_refused = {}
    for route in walk():
        response = client.post(concrete_path(route, values), {"anything": "1"})
        if not (response.status_code == 403 and b"CSRF" in response.content):
            not_refused[route.pattern] = response.status_code

    assert set(not_refused) == set(CSRF_EXEMPT), not_refused


def test_a_card_decision_needs_the_csrf_token(db, hos):
    from outreach.models import CardStatus
    from tests.factories import make_card

    card = make_card()
    client = Client(enforce_csrf_checks=True)
    client.force_login(hos)

    refused = client.post(f"/admin/outreach/pendingemail/{card.pk}/approve/", {"seen_status": "pending"})
    page = client.get(f"/admin/outreach/pendingemail/{card.pk}/change/")
    token = page.context["csrf_token"]
    accepted = client.post(
        f"/admin/outreach/pendingemail/{card.pk}/approve/",
        {"seen_status": "pending", "seen_hash": card.content_hash(), "csrfmiddlewaretoken": str(token)},
    )

    assert refused.status_code == 403
    assert accepted.status_code == 302
    card.refresh_from_db()
    assert card.status == CardStatus.APPROVED
