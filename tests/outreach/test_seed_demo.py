from __future__ import annotations

from io import StringIO

from django.contrib.auth.models import User
from django.core.management import call_command

from outreach.models import CardTransition, Lead, PendingEmail


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_is_idempotent(db):
    seed()
    counts = (Lead.objects.count(), PendingEmail.objects.count(), CardTransition.objects.count())

    output = seed()

    assert (Lead.objects.count(), PendingEmail.objects.count(), CardTransition.objects.count()) == counts
    assert "(0 new)" in output


def test_it_prints_logins_that_work(db, client):
    output = seed("--users")

    password = next(line.split()[1] for line in output.splitlines() if line.strip().startswith("hos "))
    # Through the login page, as a person does (the lockout check needs the request).
    answer = client.post("/admin/login/?next=/admin/", {"username": "hos", "password": password})
    assert answer.status_code == 302 and answer["Location"] == "/admin/"
    assert User.objects.get(username="hos").groups.filter(name="Head of Sales").exists()
    assert "caio_" in output  # the demo API token, shown once


def test_it_opens_the_demo_sending_window_only_on_a_new_policy(db):
    import datetime as dt

    from ramp.models import RampPolicy

    seed()
    assert (RampPolicy.get().window_start, RampPolicy.get().window_end) == (dt.time(0, 0), dt.time(23, 59))

    # An operator's own window is never overwritten by a later seed.
    RampPolicy.objects.filter(pk=1).update(window_start=dt.time(15, 0), window_end=dt.time(18, 0))
    seed()
    assert RampPolicy.get().window_start == dt.time(15, 0)


def test_with_a_credentials_file_the_logins_and_tokens_are_the_same_on_every_run(db, client, tmp_path):
    from caio.models import ApiToken

    kept = tmp_path / "demo-credentials.json"
    first = seed("--users", "--credentials", str(kept))
    again = seed("--users", "--credentials", str(kept))

    logins = lambda output: output[output.index("Demo logins"):]  # noqa: E731
    assert logins(first) == logins(again) and "same on every run" in again
    password = next(line.split()[1] for line in again.splitlines() if line.strip().startswith("hos "))
    answer = client.post("/admin/login/?next=/admin/", {"username": "hos", "password": password})
    assert answer.status_code == 302 and answer["Location"] == "/admin/"
    token = next(line.split()[-1] for line in again.splitlines() if "API token" in line)
    assert ApiToken.authenticate(token) is not None and not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    hos_token = next(line.split()[-1] for line in again.splitlines() if line.strip().startswith("hos ") and "caio_" in line)
    assert ApiToken.authenticate(hos_token).user.username == "hos"
    assert oct(kept.stat().st_mode & 0o777) == "0o600"


def test_a_kept_token_is_issued_again_on_a_new_database(db, tmp_path):
    from caio.models import ApiToken

    kept = tmp_path / "demo-credentials.json"
    token = next(line.split()[-1] for line in seed("--users", "--credentials", str(kept)).splitlines() if "API token" in line)
    # The demo's tokens were lost but its file was kept: the same token works again.
    ApiToken.objects.all().delete()
    seed("--users", "--credentials", str(kept))
    assert ApiToken.authenticate(token) is not None
