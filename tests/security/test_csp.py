"""A Content-Security-Policy on every page: only our own files run and style them."""

from __future__ import annotations

import pytest

from tests.security.urlmatrix import concrete_path, values_for, walk

POLICY = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:", "font-src": "'self'",
    "connect-src": "'self'", "object-src": "'none'", "base-uri": "'none'", "form-action": "'self'", "frame-ancestors": "'none'",
}


def directives(header: str | None) -> dict[str, str]:
    """The policy's directives by name (their order in the header carries no meaning)."""
    pairs = (part.strip().partition(" ") for part in (header or "").split(";") if part.strip())
    return {name: value for name, _, value in pairs}


def test_every_admin_page_carries_the_policy(world, role_clients):
    client = role_clients["super"]
    missing = []
    for route in walk():
        if not route.pattern.startswith("/admin/"):
            continue
        path = concrete_path(route, values_for(world))
        response = client.get(path)
        if response.status_code == 200 and directives(response.get("Content-Security-Policy")) != POLICY:
            missing.append(f"{path}: {response.get('Content-Security-Policy')!r}")
    assert missing == []


@pytest.mark.parametrize("path", ["/admin/login/", "/unsubscribe/no-such-token/", "/api/docs"])
def test_pages_outside_the_admin_carry_it_too(client, db, path):
    assert directives(client.get(path).get("Content-Security-Policy")) == POLICY
