"""API tokens are read from headers only: a token in the query string is no token."""

from __future__ import annotations

import pytest

from caio.models import ApiToken

URL = "/api/pending-emails"


@pytest.fixture
def raw_token(db) -> str:
    _, raw = ApiToken.issue("header-only", created_by="test")
    return raw


@pytest.mark.parametrize("name", ["token", "api_key", "access_token", "X-CAIO-Token", "Authorization", "bearer"])
def test_it_refuses_a_token_in_the_query_string(client, raw_token, name):
    response = client.get(URL, {name: raw_token})

    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Authorization", "X-CAIO-Token"])
def test_it_accepts_the_same_token_in_a_header(client, raw_token, header):
    value = f"Bearer {raw_token}" if header == "Authorization" else raw_token

    response = client.get(URL, headers={header: value})

    assert response.status_code == 200


def test_a_logged_in_session_is_no_api_token(client, operator):
    client.force_login(operator)

    assert client.get(URL).status_code == 401


def test_a_new_tokens_raw_value_is_shown_once_and_travels_in_no_cookie(client, operator):
    client.force_login(operator)
    response = client.post("/admin/caio/apitoken/add/", {"name": "reporting"}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    raw = next(word for line in shown for word in line.split() if word.startswith("caio_"))
    # It should be on the page once, stored hashed, and in none of the cookies the browser was given.
    assert ApiToken.authenticate(raw) is not None
    assert response.content.decode().count(raw) == 1
    assert all(raw not in morsel.value for morsel in client.cookies.values())
    assert "messages" not in client.cookies
    assert raw not in client.get("/admin/").content.decode()
