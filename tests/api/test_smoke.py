from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from caio.models import ApiToken

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def raw_token(db):
    return ApiToken.issue("smoke")[1]


def smoke(*args) -> str:
    out = StringIO()
    try:
        call_command("smoke", *args, stdout=out)
    except CommandError as exc:
        out.write(f"\nCommandError: {exc}")
    return out.getvalue()


def test_it_passes_against_a_running_server(live_server, raw_token, redis_conn):
    text = smoke("--base-url", live_server.url, "--token", raw_token)
    assert "CommandError" not in text, text
    assert "S05 PASS Pending-emails payload shape" in text
    assert raw_token not in text


def test_it_fails_with_a_clear_line_when_the_token_is_wrong(live_server, raw_token, redis_conn):
    text = smoke("--base-url", live_server.url, "--token", "caio_not-the-token")
    assert "the token was rejected: it is wrong, rotated or revoked" in text
    assert f"CommandError: Smoke failed for {live_server.url}:" in text
    assert "caio_not-the-token" not in text


def test_it_fails_with_a_clear_line_when_strict_auth_is_off(live_server, raw_token, redis_conn):
    with override_settings(DASHBOARD_AUTH_STRICT=False):
        text = smoke("--base-url", live_server.url, "--token", raw_token)
    assert "strict auth is OFF: the route answers without a token" in text
    assert "CommandError" in text


def test_the_matrix_reads_named_environments(live_server, raw_token, redis_conn, monkeypatch):
    monkeypatch.setenv("CAIO_STAGING_URL", live_server.url)
    monkeypatch.setenv("CAIO_STAGING_TOKEN", raw_token)
    monkeypatch.setenv("CAIO_PROD_URL", live_server.url)
    monkeypatch.setenv("CAIO_PROD_TOKEN", "caio_revoked")
    text = smoke("--matrix")
    assert "[staging] S04 PASS" in text and "[production] S04 FAIL" in text
    assert "CommandError: Smoke failed for production" in text
    text = smoke("--matrix", "--env", f"staging={live_server.url},{raw_token}")
    assert "CommandError" not in text and "[staging]" in text


def test_bad_input_is_named():
    with pytest.raises(CommandError, match="NAME=URL,TOKEN"):
        call_command("smoke", "--matrix", "--env", "staging=http://127.0.0.1:9", stdout=StringIO())
    with pytest.raises(CommandError, match="--token T or --token-env VAR"):
        call_command("smoke", "--base-url", "http://127.0.0.1:9", stdout=StringIO())


def test_an_unreachable_instance_fails_cleanly():
    text = smoke("--base-url", "http://127.0.0.1:9", "--token", "x")
    assert "S01 FAIL Health" in text and "no answer (ConnectionError)" in text
