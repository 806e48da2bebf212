"""No configured secret shows in a page, a log line or a command's output.

The secrets are given distinctive values, every URL is opened as every kind
of user (the API with a real token in its header), the read-only commands
are run, and everything captured is searched for those values.
"""

from __future__ import annotations

import io
import logging
import secrets

import pytest
from django.core.management import CommandError, call_command

from caio.models import ApiToken
from tests.factories import make_user
from tests.security.urlmatrix import closed_port, concrete_path, values_for, walk

PASSWORD = "pw-Secret-123"  # what tests.factories.make_user gives every user

COMMANDS = [
    ["preflight"],
    ["preflight", "--json"],
    ["ramp", "status"],
    ["ramp", "status", "--json"],
    ["dispatch"],
    ["dispatch", "--json"],
    ["reconcile"],
    ["verify_sent"],
    ["daily_report"],
    ["trace_queue", "--no-store"],
    ["cleanup_queue"],
    ["process_webhooks"],
    ["api_token", "list", "--all"],
    ["check"],
    ["ghl_sandbox", "--print-public-key"],
]


@pytest.fixture
def configured_secrets(settings, ghl_sandbox) -> dict[str, str]:
    """Give each secret setting a value nothing else could contain; return them by name."""
    settings.SECRET_KEY = "secret-key-" + secrets.token_hex(24)
    settings.SLACK_WEBHOOK_URL = f"http://127.0.0.1:{closed_port()}/services/{secrets.token_hex(12)}"
    _, raw = ApiToken.issue("secrets-test", created_by="test")
    return {
        "SECRET_KEY": settings.SECRET_KEY,
        "GHL_TOKEN": settings.GHL_TOKEN,
        "SLACK_WEBHOOK_URL": settings.SLACK_WEBHOOK_URL,
        "API token": raw,
        "password": PASSWORD,
    }


def leaks(text: str, named: dict[str, str]) -> list[str]:
    return [name for name, value in named.items() if value and value in text]


def test_no_page_or_log_line_shows_a_secret(world, configured_secrets, caplog):
    from django.test import Client

    caplog.set_level(logging.DEBUG)
    # Anonymous, staff without a role and a superuser: every other role sees a subset of the superuser's pages.
    clients = {"anon": Client(raise_request_exception=False)}
    for role, user in {"staff": make_user("s-staff"), "super": make_user("s-super", superuser=True)}.items():
        clients[role] = Client(raise_request_exception=False)
        clients[role].force_login(user)
    api_headers = {"Authorization": f"Bearer {configured_secrets['API token']}"}
    values = values_for(world)

    found = []
    for route in walk():
        path = concrete_path(route, values)
        for role, client in clients.items():
            response = client.get(path, headers=api_headers if path.startswith("/api/") else {})
            body = b"".join(response.streaming_content) if response.streaming else response.content
            found += [f"GET {path} as {role}: {name}" for name in leaks(body.decode("utf-8", "replace"), configured_secrets)]
    # Logging in and the admin's own password pages see the password; they must not echo it.
    login = Client(raise_request_exception=False)
    response = login.post("/admin/login/", {"username": "s-staff", "password": PASSWORD + "-wrong"})
    found += [f"failed login page: {name}" for name in leaks(response.content.decode(), {"password": PASSWORD + "-wrong"})]

    found += [f"log: {name}" for name in leaks(caplog.text, configured_secrets)]
    assert found == []


def test_no_command_output_shows_a_secret(world, configured_secrets, caplog):
    caplog.set_level(logging.DEBUG)
    found = []
    for command in COMMANDS:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(*command, stdout=out, stderr=err)
        except (CommandError, SystemExit) as exc:
            err.write(str(exc))
        found += [f"{' '.join(command)}: {name}" for name in leaks(out.getvalue() + err.getvalue(), configured_secrets)]
    found += [f"log: {name}" for name in leaks(caplog.text, configured_secrets)]
    assert found == []
