from __future__ import annotations

import socket
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ghl.sandbox.keys import ed25519_key, rsa_key
from ghl.webhooks import public_key_pem


def test_it_prints_the_deterministic_public_key():
    out = StringIO()
    call_command("ghl_sandbox", "--print-public-key", stdout=out)
    assert out.getvalue() == public_key_pem(ed25519_key())
    again = StringIO()
    call_command("ghl_sandbox", "--print-public-key", stdout=again)
    assert again.getvalue() == out.getvalue()


def test_it_prints_the_rsa_key_and_follows_the_seed():
    out = StringIO()
    call_command("ghl_sandbox", "--print-public-key", "rsa", "--seed", "demo", stdout=out)
    assert out.getvalue() == public_key_pem(rsa_key("demo"))


def test_it_refuses_a_busy_port_with_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=f"Cannot listen on 127.0.0.1:{port}"):
            call_command("ghl_sandbox", "--port", str(port), stdout=StringIO())


def test_it_listens_on_loopback_only():
    with pytest.raises(CommandError):
        call_command("ghl_sandbox", "--host", "0.0.0.0", "--print-public-key", stdout=StringIO())


@pytest.mark.slow
def test_the_started_sandbox_prints_what_the_app_needs(ghl_sandbox_process):
    output = ghl_sandbox_process.output()
    assert f"GHL_BASE_URL={ghl_sandbox_process.base_url}" in output
    assert "GHL_TOKEN=sandbox-token" in output
    assert "GHL_LOCATION_ID=sandboxLocation000001" in output
    assert public_key_pem(ed25519_key()) in output
