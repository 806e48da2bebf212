from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.conf import settings
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
    # Another instance's smoke (this shell's PUBLIC_BASE_URL is not it): it gates nothing here, and says no more.
    assert "Recorded as another instance's smoke" in text
    assert text.rstrip().endswith(f"CommandError: Smoke failed for {live_server.url}.")
    assert "caio_not-the-token" not in text


@pytest.fixture
def plain_http_instance():
    """An instance in production posture with no TLS proxy in front: health and readiness answer
    over plain HTTP (SECURE_REDIRECT_EXEMPT), every other path redirects to https://."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path in ("/api/health", "/api/ready"):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "ok"}')
            else:
                self.send_response(301)
                self.send_header("Location", f"https://{self.headers['Host']}{self.path}")
                self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_redirect_to_https_names_the_missing_tls_proxy(plain_http_instance):
    text = smoke("--base-url", plain_http_instance, "--token", "caio_any")

    assert "S01 PASS Health" in text and "S02 PASS Readiness" in text
    assert (
        "S03 FAIL 401 without token /api/pending-emails: expected 401, got HTTP 301: the instance redirects plain HTTP "
        "to HTTPS (production posture). Smoke its https:// address, or put it behind a TLS proxy that sets "
        "X-Forwarded-Proto"
    ) in text
    assert "S04 FAIL 200 with token /api/ramp: expected 200, got HTTP 301: the instance redirects" in text


def test_a_shell_without_a_database_checks_and_says_it_recorded_nothing(live_server, raw_token, redis_conn, tmp_path):
    # An operator's laptop or a CI job: a development configuration whose database was never made.
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "SQLITE_TEST_NAME")}
    env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'none.sqlite3'}", SMOKE_TOKEN=raw_token)
    result = subprocess.run(
        [sys.executable, "manage.py", "smoke", "--base-url", live_server.url, "--token-env", "SMOKE_TOKEN"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "S05 PASS" in result.stdout
    assert "Not recorded: " in result.stdout and str(tmp_path / "none.sqlite3") in result.stdout
    assert "To gate an instance, run smoke inside it" in result.stdout
