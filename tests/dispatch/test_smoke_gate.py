"""A failed smoke of this instance is recorded and blocks live cycles until a later smoke passes."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from caio.models import ApiToken, GateRun
from outreach.models import CardStatus, PendingEmail
from tests.dispatch.helpers import approved_card, green_gates

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]


def smoke(url: str, token: str) -> str:
    out = StringIO()
    try:
        call_command("smoke", "--base-url", url, "--token", token, stdout=out)
    except CommandError as exc:
        out.write(f"\nCommandError: {exc}")
    return out.getvalue()


def dispatch_live() -> str:
    out = StringIO()
    call_command("dispatch", "--live", "--operator", "operator", "--noinput", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_failed_smoke_blocks_dispatch_live_until_a_passing_one(live_server, operator, redis_conn):
    raw = ApiToken.issue("smoke")[1]
    green_gates()
    with override_settings(PUBLIC_BASE_URL=live_server.url):
        # Made under this instance's URL: its footer's unsubscribe link names it.
        card = approved_card()
        failed = smoke(live_server.url, "caio_not-the-token")
        assert "Recorded as this instance's smoke." in failed
        assert f"CommandError: Smoke failed for {live_server.url}: no live cycle here until it passes." in failed

        # The dry run names the red gate, and the live cycle refuses, naming the smoke.
        dry = StringIO()
        call_command("dispatch", stdout=dry, stderr=StringIO())
        assert "The last smoke of this instance" in dry.getvalue() and "1 gate(s) red" in dry.getvalue()
        with pytest.raises(CommandError, match="The last smoke of this instance .* failed"):
            dispatch_live()
        assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.APPROVED

        passed = smoke(live_server.url, raw)
        assert "CommandError" not in passed, passed
        out = dispatch_live()

    assert "Claimed 1 card(s)" in out, out
    assert PendingEmail.objects.get(pk=card.pk).status == CardStatus.QUEUED
    assert [(run.passed, run.this_instance) for run in GateRun.objects.order_by("ran_at", "pk")] == [(False, True), (True, True)]


def test_a_failed_smoke_of_another_instance_is_kept_but_gates_nothing(live_server, redis_conn):
    green_gates()
    with override_settings(PUBLIC_BASE_URL="https://caio.example.com"):
        text = smoke(live_server.url, "caio_not-the-token")
        dry = StringIO()
        call_command("dispatch", stdout=dry, stderr=StringIO())
    assert "Recorded as another instance's smoke (it gates nothing here)." in text
    assert "0 gate(s) red" in dry.getvalue()
    assert GateRun.objects.get().this_instance is False
