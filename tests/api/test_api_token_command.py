from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from caio.models import ApiToken

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("api_token", *args, stdout=out)
    return out.getvalue()


def test_create_list_rotate_revoke():
    raw = run("create", "production-smoke", "--by", "pto").splitlines()[-1]
    token = ApiToken.authenticate(raw)
    assert token is not None
    listing = run("list")
    assert token.prefix in listing and raw not in listing
    new_raw = run("rotate", token.prefix).splitlines()[-1]
    assert ApiToken.authenticate(raw) is None and ApiToken.authenticate(new_raw) is not None
    new = ApiToken.authenticate(new_raw)
    assert "stops working now" in run("revoke", new.prefix)
    assert ApiToken.authenticate(new_raw) is None
    with pytest.raises(CommandError, match="already revoked"):
        run("revoke", new.prefix)
    with pytest.raises(CommandError, match="No token has the prefix"):
        run("rotate", "caio_nothing")


def test_the_admin_shows_the_raw_token_once_and_rotates(admin_client):
    response = admin_client.post("/admin/caio/apitoken/add/", {"name": "staging"}, follow=True)
    token = ApiToken.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any(token.prefix in m and "will not be shown again" in m for m in shown)
    # The list page shows the prefix and never a raw token again.
    listing = admin_client.get("/admin/caio/apitoken/").content.decode()
    assert token.prefix in listing and "will not be shown again" not in listing
    response = admin_client.post(
        "/admin/caio/apitoken/", {"action": "rotate_tokens", "_selected_action": [token.pk]}, follow=True
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiToken.objects.filter(revoked_at__isnull=True, name="staging").count() == 1
    admin_client.post("/admin/caio/apitoken/", {"action": "revoke_tokens", "_selected_action": list(ApiToken.objects.values_list("pk", flat=True))})
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
