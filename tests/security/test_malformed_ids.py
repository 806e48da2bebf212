"""Malformed or unknown ids in a path answer 404 (or the admin's "doesn't exist" redirect), never 500."""

from __future__ import annotations

import pytest

from tests.security.urlmatrix import concrete_path, outcome, values_for, walk

MALFORMED = ["abc", "99999999", "1.5", "-1", "%2E%2E", "00000000-0000-0000-0000-000000000000"]


def test_no_malformed_path_parameter_makes_a_500(world, role_clients):
    good = values_for(world)
    failures = []
    for route in walk():
        for name in route.params:
            for junk in MALFORMED:
                path = concrete_path(route, lambda r, n: junk if n == name else good(r, n))
                for role in ("hos", "super"):
                    for method in ("get", "post"):
                        got = outcome(getattr(role_clients[role], method)(path))
                        if got.startswith("5"):
                            failures.append(f"{method.upper()} {path} as {role}: {got}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("page", ["approve", "reject"])
@pytest.mark.parametrize("card_id", ["abc", "99999999", "1.5"])
def test_a_card_decision_on_a_malformed_id_is_a_404(db, hos, client, page, card_id):
    client.force_login(hos)

    response = client.post(f"/admin/outreach/pendingemail/{card_id}/{page}/")

    assert response.status_code == 404
