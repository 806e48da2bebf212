"""Login throttling: 20 wrong passwords lock the account for a while, and the page says so."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"


def login(client: Client, password: str, username: str = "hos"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_twenty_wrong_passwords_lock_the_account_for_a_while(settings):
    make_user("hos", password=PASSWORD)
    make_user("other", password=PASSWORD)
    client = Client()
    for attempt in range(19):
        assert login(client, f"guess-{attempt}").status_code == 200
    # The 20th wrong password locks the account, and the page says for how long and why.
    locked = login(client, "guess-19")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "This account is locked for 0:30:00" in page and "after 20 wrong passwords" in page
    # Now even the right password is refused, from any client; another account is not locked.
    assert login(Client(), PASSWORD).status_code == 429
    assert login(Client(), PASSWORD, username="other").status_code == 302


def test_a_wrong_password_is_never_stored():
    from axes.models import AccessAttempt

    make_user("hos", password=PASSWORD)
    login(Client(), "my-real-password-typo")
    attempt = AccessAttempt.objects.get()
    assert "my-real-password-typo" not in f"{attempt.get_data}{attempt.post_data}"


def test_a_right_password_before_the_limit_logs_in_and_resets_the_count():
    from axes.models import AccessAttempt

    make_user("hos", password=PASSWORD)
    client = Client()
    for attempt in range(5):
        login(client, f"guess-{attempt}")
    assert login(client, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="hos").exists()
