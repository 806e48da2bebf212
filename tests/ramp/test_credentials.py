"""On the terminal, an act recorded in a person's name needs that person's personal API token, not a typed name."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from caio.models import ApiToken
from ramp import services
from ramp.models import Hold, QualitySignoff
from tests.factories import personal_token
from tests.ramp.helpers import live_day

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 2, 18)


def ramp(*args: str) -> str:
    out = StringIO()
    call_command("ramp", *args, stdout=out)
    return out.getvalue()


def test_signoff_by_hos_from_a_shell_without_her_token_is_refused(hos, operator, monkeypatch):
    monkeypatch.delenv("CAIO_TOKEN", raising=False)
    with pytest.raises(CommandError, match=re.escape("give hos's personal API token (--token T, or CAIO_TOKEN")):
        ramp("signoff", "--by", "hos", "--apply")
    # The operator's own token does not make the operator the Head of Sales, nor sign in her name.
    with pytest.raises(CommandError, match=re.escape("is operator's, not hos's")):
        ramp("signoff", "--by", "hos", "--apply", "--token", personal_token("operator"))
    monkeypatch.setenv("CAIO_TOKEN", personal_token("operator"))
    with pytest.raises(CommandError, match=re.escape("'operator' may not sign off")):
        ramp("signoff", "--apply")
    # A service token acts for nobody.
    with pytest.raises(CommandError, match="is a service token and acts for nobody"):
        ramp("signoff", "--apply", "--token", ApiToken.issue("smoke")[1])
    assert not QualitySignoff.objects.exists()

    # Her token, from the environment: recorded in her name.
    monkeypatch.setenv("CAIO_TOKEN", personal_token("hos"))
    assert "Recorded:" in ramp("signoff", "--apply")
    assert QualitySignoff.objects.get().signed_by == "hos"


def test_a_revoked_token_is_refused_and_a_dry_run_needs_only_the_name(hos, monkeypatch):
    monkeypatch.delenv("CAIO_TOKEN", raising=False)
    raw = personal_token("hos")
    ApiToken.objects.get(user__username="hos").revoke()
    with pytest.raises(CommandError, match="wrong, rotated or revoked"):
        ramp("signoff", "--apply", "--token", raw)
    assert "Dry run, nothing recorded" in ramp("signoff", "--by", "hos")


def test_decide_clear_and_graduate_need_the_persons_token(operator, monkeypatch):
    monkeypatch.delenv("CAIO_TOKEN", raising=False)
    day = live_day(DAY, decision="")
    with pytest.raises(CommandError, match="personal API token"):
        ramp("decide", "continue", "--by", "operator", "--date", str(day.date))
    services.raise_person_hold(reason="checking the list", by="operator")
    with pytest.raises(CommandError, match="personal API token"):
        ramp("clear", "--all", "--by", "operator", "--reason", "list checked")
    with pytest.raises(CommandError, match="personal API token"):
        ramp("graduate", "--apply", "--by", "operator")
    day.refresh_from_db()
    assert day.decision == "" and Hold.objects.active().count() == 1

    token = personal_token("operator")
    ramp("decide", "continue", "--token", token, "--date", str(day.date))
    ramp("clear", "--all", "--token", token, "--reason", "list checked")
    day.refresh_from_db()
    assert (day.decision, day.decided_by) == ("continue", "operator") and not Hold.objects.active().exists()
    # Raising a hold stays a matter of a name: stopping sends must never wait for a credential.
    ramp("hold", "--by", "operator", "--reason", "HoS flagged formatting")
    assert Hold.objects.active().count() == 1


def test_api_token_create_for_a_user_asks_for_their_password(hos, monkeypatch):
    monkeypatch.setenv("HOS_PASSWORD", "wrong")
    with pytest.raises(CommandError, match="Wrong password for 'hos'"):
        call_command("api_token", "create", "hos-terminal", "--user", "hos", "--password-env", "HOS_PASSWORD", stdout=StringIO())
    monkeypatch.setenv("HOS_PASSWORD", "pw-Secret-123")
    out = StringIO()
    call_command("api_token", "create", "hos-terminal", "--user", "hos", "--password-env", "HOS_PASSWORD", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert ApiToken.authenticate(raw).user == hos
    out = StringIO()
    call_command("api_token", "list", stdout=out)
    assert "for hos" in out.getvalue()


def test_the_admin_issues_a_personal_token_to_the_person_logged_in_only(client, operator):
    client.force_login(operator)
    answer = client.post("/admin/caio/apitoken/add/", {"name": "my terminal", "personal": "on"}, follow=True)
    assert answer.status_code == 200
    assert ApiToken.objects.get(name="my terminal").user == operator
    client.post("/admin/caio/apitoken/add/", {"name": "smoke"}, follow=True)
    assert ApiToken.objects.get(name="smoke").user is None


def test_the_head_of_sales_issues_her_own_token_in_the_admin_and_sees_only_hers(client, hos, operator):
    operators_token, _ = ApiToken.issue("operator terminal", created_by="operator", user=operator)
    service_token, _ = ApiToken.issue("smoke", created_by="operator")
    client.force_login(hos)

    # No "personal" box for her: the only token she may issue is her own.
    form = client.get("/admin/caio/apitoken/add/")
    answer = client.post("/admin/caio/apitoken/add/", {"name": "hos terminal"}, follow=True)

    assert form.status_code == 200 and 'name="personal"' not in form.content.decode()
    assert answer.status_code == 200
    assert ApiToken.objects.get(name="hos terminal").user == hos
    assert "New personal token of hos " in answer.content.decode()
    listed = client.get("/admin/caio/apitoken/").content.decode()
    assert "hos terminal" in listed and "operator terminal" not in listed and ">smoke<" not in listed
    # Someone else's token is not found for her, and she rotates or revokes nothing.
    assert client.get(f"/admin/caio/apitoken/{operators_token.pk}/change/").status_code == 302
    client.post("/admin/caio/apitoken/", {"action": "revoke_tokens", "_selected_action": [service_token.pk]})
    service_token.refresh_from_db()
    assert service_token.revoked_at is None
