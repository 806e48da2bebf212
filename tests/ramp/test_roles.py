"""Roles as the runbook draws them: the Head of Sales raises a hold (systemic copy
failure) from the card page or the index; only an operator clears, decides and graduates."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from outreach.sending.select import DispatchRefused, start_live_cycle
from ramp import services
from ramp.models import Hold
from tests.dispatch.helpers import approved_card, green_gates
from tests.factories import personal_token

pytestmark = pytest.mark.django_db


def test_ramp_clear_by_a_person_who_is_not_an_operator_is_refused(hos, operator):
    hold = services.raise_person_hold(reason="bounce spike at Acme", by="operator")
    for token, why in [("caio_made-up", "wrong, rotated or revoked"), (personal_token("hos"), "'hos' may not clear a hold")]:
        with pytest.raises(CommandError, match=why):
            call_command("ramp", "clear", "--id", str(hold.pk), "--token", token, "--reason", "looks fine", stdout=StringIO())
        hold.refresh_from_db()
        assert hold.is_active
    call_command("ramp", "clear", "--id", str(hold.pk), "--token", personal_token("operator"), "--reason", "Acme list cleaned", stdout=StringIO())
    hold.refresh_from_db()
    assert not hold.is_active and hold.cleared_by == "operator"


def test_only_an_operator_decides_and_graduates(hos):
    with pytest.raises(services.RampError, match="'hos' may not decide a ramp day"):
        services.decide(decision="continue", by="hos")
    with pytest.raises(services.RampError, match="'hos' may not graduate"):
        services.graduate(by="hos")
    with pytest.raises(CommandError, match="'nobody' is not a user"):
        call_command("ramp", "hold", "--reason", "x", "--by", "nobody", stdout=StringIO())


def test_the_hos_raises_a_hold_from_the_card_page_and_the_next_live_cycle_is_refused(client, hos, operator):
    green_gates(daily_cap=5)
    card = approved_card()
    client.force_login(hos)
    card_url = f"/admin/outreach/pendingemail/{card.pk}/change/"
    page = client.get(card_url)
    assert page.status_code == 200 and b'id="raise-copy-failure"' in page.content

    answer = client.post(
        "/admin/ramp/hold/raise-copy-failure/", {"reason": "every opener repeats the company name twice", "next": card_url}
    )
    assert answer.status_code == 302 and answer["Location"] == card_url
    hold = Hold.objects.active().get()
    assert (hold.source, hold.raised_by) == ("person", "hos")
    assert hold.reason == "Systemic copy failure: every opener repeats the company name twice"

    with pytest.raises(DispatchRefused) as refused:
        start_live_cycle(operator=operator)
    assert any(hold.as_line() in reason for reason in refused.value.reasons), refused.value.reasons
    # The HoS cannot clear it from the admin either: the hold page has no clear form for them, and a forged POST is refused.
    page = client.get(f"/admin/ramp/hold/{hold.pk}/change/")
    assert page.status_code == 200 and b"_clear_hold" not in page.content
    client.post(f"/admin/ramp/hold/{hold.pk}/change/", {"_clear_hold": "1", "clear_reason_input": "fine"})
    hold.refresh_from_db()
    assert hold.is_active


def test_the_index_offers_the_hold_and_a_reason_is_required(client, hos):
    client.force_login(hos)
    assert b'id="raise-copy-failure"' in client.get("/admin/").content
    answer = client.post("/admin/ramp/hold/raise-copy-failure/", {"reason": " ", "next": "https://evil.example/"})
    assert answer.status_code == 302 and answer["Location"] == "/admin/"
    assert not Hold.objects.exists()
    assert client.get("/admin/ramp/hold/raise-copy-failure/").status_code == 405


def test_a_user_without_a_role_cannot_raise_one(client, outsider):
    client.force_login(outsider)
    assert b'id="raise-copy-failure"' not in client.get("/admin/").content
    assert client.post("/admin/ramp/hold/raise-copy-failure/", {"reason": "x"}).status_code == 403
    assert not Hold.objects.exists()
