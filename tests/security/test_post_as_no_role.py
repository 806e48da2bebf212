"""A staff user without a role changes nothing, whatever URL they POST to."""

from __future__ import annotations

import hashlib

from django.apps import apps
from django.test import Client

from tests.factories import make_user
from tests.security.urlmatrix import concrete_path, values_for, walk


# Anyone holding the signed link may unsubscribe; that is the point of the link.
PUBLIC_BY_DESIGN = {"/unsubscribe/<str:token>/"}


def fingerprint() -> dict[str, str]:
    """Return a digest of every row of every table, by model (sessions, login times and axes' access log aside)."""
    digests = {}
    for model in apps.get_models():
        # The access log records each request that logs in: the product watching, not the user changing anything.
        if not model._meta.managed or model._meta.app_label in ("sessions", "axes"):
            continue
        if model._meta.label == "outreach.WebhookRefusal":
            # The webhook receiver records every unsigned POST it refuses: that
            # record is the product working, not the user changing anything.
            continue
        rows = model._default_manager.order_by("pk").values()
        text = repr([{k: v for k, v in row.items() if k != "last_login"} for row in rows])
        digests[model._meta.label] = hashlib.sha256(text.encode()).hexdigest()
    return digests


def redis_fingerprint(connection) -> list:
    """Return RQ's job and queue keys (workers and the maintenance marker come and go on their own)."""
    return sorted(
        (key, connection.type(key))
        for key in connection.keys("rq:*")
        if b":worker" not in key and b"clean_registries" not in key
    )


def test_staff_without_a_role_changes_nothing_by_post(world, redis_conn):
    staff = make_user("post-staff")
    client = Client(raise_request_exception=False)
    values = values_for(world)
    before, redis_before = fingerprint(), redis_fingerprint(redis_conn)

    # Paths first: a POST that wrongly deleted a job would leave no id for the next path.
    paths = [concrete_path(route, values) for route in walk() if route.pattern not in PUBLIC_BY_DESIGN]

    answers = {}
    for path in paths:
        client.force_login(staff)  # the logout URL ends the session
        # `post=yes` is what the admin's and django-rq's confirmation pages send to delete or empty.
        response = client.post(path, {"post": "yes", "action": "delete_selected", "_selected_action": ["1"]})
        answers[path] = response.status_code

    assert fingerprint() == before
    assert redis_fingerprint(redis_conn) == redis_before
    assert 500 not in answers.values(), [p for p, s in answers.items() if s == 500]
