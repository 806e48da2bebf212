"""The dispatch console in the admin: operators only, same gates as the command."""

from __future__ import annotations

import pytest
from django.urls import reverse

from outreach.models import CardStatus, PendingEmail
from ramp.holds import raise_hold
from tests.dispatch.helpers import approved_card, green_gates

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

CONSOLE = "admin:outreach_dispatchconsole_changelist"
CONFIRM = "admin:outreach_dispatchconsole_confirm"


def test_it_shows_the_dry_run_and_the_gates_to_an_operator(client, operator, redis_conn):
    green_gates(daily_cap=1)
    first, second = approved_card(), approved_card()
    client.force_login(operator)

    response = client.get(reverse(CONSOLE))

    assert response.status_code == 200
    html = response.content.decode()
    assert "All gates are green." in html
    assert first.lead.email in html and second.lead.email in html
    assert "over today&#x27;s cap" in html
    # The index lists the console for operators.
    assert "Dispatch console" in client.get(reverse("admin:index")).content.decode()


def test_it_is_forbidden_without_the_live_cycle_permission(client, hos, redis_conn):
    green_gates()
    approved_card()
    client.force_login(hos)

    assert client.get(reverse(CONSOLE)).status_code == 403
    assert client.post(reverse(CONFIRM)).status_code == 403
    assert PendingEmail.objects.get().status == CardStatus.APPROVED
    index = client.get(reverse("admin:index"))
    # The index she does see (with her review queue) has no console on it.
    assert index.status_code == 200 and reverse("admin:outreach_pendingemail_changelist") in index.content.decode()
    assert "Dispatch console" not in index.content.decode()


def test_confirm_is_post_only(client, operator):
    client.force_login(operator)
    assert client.get(reverse(CONFIRM)).status_code == 405


def test_confirm_runs_the_live_cycle(client, operator, redis_conn, django_capture_on_commit_callbacks):
    green_gates(daily_cap=5)
    cards = [approved_card() for _ in range(3)]
    client.force_login(operator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(CONFIRM), {"limit": "2"}, follow=True)

    assert "Claimed 2 card(s)" in response.content.decode()
    assert [PendingEmail.objects.get(pk=c.pk).status for c in cards] == ["queued", "queued", "approved"]


def test_confirm_refuses_with_the_same_gates(client, operator, redis_conn):
    green_gates()
    approved_card()
    raise_hold(reason="spam complaint", raised_by="pto")
    client.force_login(operator)

    page = client.get(reverse(CONSOLE)).content.decode()
    assert "Nothing is sent while a hold is active." in page and "spam complaint" in page

    response = client.post(reverse(CONFIRM), follow=True)
    assert "Live cycle refused" in response.content.decode() and "spam complaint" in response.content.decode()
    assert PendingEmail.objects.get().status == CardStatus.APPROVED


def test_confirm_rejects_a_bad_limit(client, operator, redis_conn):
    green_gates()
    approved_card()
    client.force_login(operator)
    response = client.post(reverse(CONFIRM), {"limit": "-3"}, follow=True)
    assert "The limit must be a whole number" in response.content.decode()
    assert PendingEmail.objects.get().status == CardStatus.APPROVED


def test_the_card_page_lists_dispatch_attempts(client, operator):
    card = approved_card()
    card.attempts.create(outcome="unknown", http_status=504, error="Gateway <timeout>", worker="w1")
    client.force_login(operator)

    html = client.get(reverse("admin:outreach_pendingemail_change", args=[card.pk])).content.decode()

    assert "dispatch attempts" in html.lower()
    assert "Gateway &lt;timeout&gt;" in html


@pytest.mark.parametrize("passes", [True, False])
def test_confirm_runs_the_preflight_in_process_like_the_command(client, operator, redis_conn, django_capture_on_commit_callbacks, passes):
    from unittest import mock

    from ramp.models import PreflightRun

    green_gates(daily_cap=5)
    PreflightRun.objects.all().delete()
    card = approved_card()
    client.force_login(operator)

    def run_preflight(*, ran_by: str = "", **kwargs):
        row = {"name": "GHL reachable", "passed": passes, "detail": ""}
        return PreflightRun.objects.create(passed=passes, ran_by=ran_by, results=[row])

    with mock.patch("outreach.sending.gates.run_preflight", run_preflight), django_capture_on_commit_callbacks(execute=True):
        html = client.post(reverse(CONFIRM), follow=True).content.decode()

    # It should run one preflight as the operator and let its result decide, as `dispatch --live` does.
    assert PreflightRun.objects.get().ran_by == "operator"
    if passes:
        assert "Ran preflight in-process: passed." in html and "Claimed 1 card(s)" in html
        assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.QUEUED
    else:
        assert "Ran preflight in-process: FAILED (GHL reachable)" in html and "Live cycle refused" in html
        assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.APPROVED
