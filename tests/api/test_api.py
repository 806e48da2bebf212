from __future__ import annotations

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from caio.models import ApiToken
from ramp.models import RampPolicy
from tests.factories import make_card

PROTECTED = ["/api/pending-emails", "/api/rejection-tags", "/api/ramp"]

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def token():
    return ApiToken.issue("tests")


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize("path", PROTECTED)
def test_it_refuses_a_request_without_a_token(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert "X-CAIO-Auth" not in response.headers


@pytest.mark.parametrize("path", PROTECTED)
def test_it_answers_with_a_token_in_either_header(client, token, path):
    _, raw = token
    assert client.get(path, **bearer(raw)).status_code == 200
    assert client.get(path, HTTP_X_CAIO_TOKEN=raw).status_code == 200


@pytest.mark.parametrize("path", PROTECTED)
def test_a_revoked_or_rotated_token_stops_at_once(client, token, path):
    issued, raw = token
    replacement, new_raw = issued.rotate(created_by="pto")
    assert client.get(path, **bearer(raw)).status_code == 401
    assert client.get(path, **bearer(new_raw)).status_code == 200
    replacement.revoke()
    assert client.get(path, **bearer(new_raw)).status_code == 401


@override_settings(DASHBOARD_AUTH_STRICT=False)
@pytest.mark.parametrize("path", PROTECTED)
def test_without_strict_auth_a_missing_token_is_let_through_but_flagged_and_a_wrong_one_still_refused(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.headers["X-CAIO-Auth"] == "not-enforced"
    assert client.get(path, **bearer("caio_wrong")).status_code == 401


def test_pending_emails_carries_the_hygiene_split_and_redis_status(client, token, redis_conn):
    make_card()
    make_card(age_hours=100)
    body = client.get("/api/pending-emails?include_held_back=true", **bearer(token[1])).json()
    assert body["hygiene"] == {"open": 2, "eligible": 1, "held_back": 1, "held_back_by_reason": {"stale": 1}}
    assert body["redis"]["status"] == "active"
    assert [(card["reason"], card["held_back_by"]) for card in body["cards"]] == [("stale", ["stale"]), ("eligible", [])]
    eligible_only = client.get("/api/pending-emails", **bearer(token[1])).json()
    assert len(eligible_only["cards"]) == 1 and eligible_only["cards"][0]["eligible"]


def test_rejection_tags_and_ramp_answer(client, token):
    tags = client.get("/api/rejection-tags", **bearer(token[1])).json()
    assert {"slug": "queue_hygiene_non_actionable"}.items() <= next(t for t in tags if t["system"]).items()
    ramp = client.get("/api/ramp", **bearer(token[1])).json()
    assert ramp["policy"]["current_cap"] == 5 and "live_cycle_blockers" in ramp
    # The API tells what `ramp status` and the ramp page tell: the stop settings and the HoS's records.
    assert ramp["stop_settings"] == RampPolicy.get().stop_settings() != []
    assert ramp["quality"]["signoff"] is None and ramp["quality"]["problems"]
    assert set(ramp["quality"]["problems"]) <= set(ramp["graduation"]["reasons"])


def test_health_and_schema_are_public(client):
    assert client.get("/api/health").json() == {"status": "ok"}
    schema = client.get("/api/openapi.json").json()
    assert {"/api/pending-emails", "/api/rejection-tags", "/api/ramp", "/api/health", "/api/ready"} <= set(schema["paths"])
    assert client.get("/api/docs").status_code == 200


def test_the_docs_page_loads_its_assets_from_this_host(client):
    # Swagger UI from a CDN renders a blank page offline and sends traffic off the host.
    html = client.get("/api/docs").content.decode()
    assert "cdn.jsdelivr.net" not in html
    assert "/static/ninja/swagger-ui-bundle.js" in html


def test_a_token_is_stored_hashed_and_listed_by_prefix(token):
    issued, raw = token
    assert raw not in {issued.token_hash, issued.prefix} and raw.startswith(issued.prefix)
    assert ApiToken.authenticate(raw) == issued


header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
query_values = st.one_of(st.integers(-10**6, 10**6).map(str), st.text(max_size=20), st.sampled_from(["true", "false", "1", ""]))


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(PROTECTED + ["/api/health", "/api/ready", "/api/openapi.json"]),
    authorization=st.one_of(st.none(), header_values, header_values.map(lambda v: f"Bearer {v}")),
    limit=st.one_of(st.none(), query_values),
    include_held_back=st.one_of(st.none(), query_values),
)
def test_fuzzed_requests_never_cause_a_server_error(client, token, path, authorization, limit, include_held_back):
    params = {k: v for k, v in {"limit": limit, "include_held_back": include_held_back}.items() if v is not None}
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    response = client.get(path, params, **headers)
    assert response.status_code < 500, (path, response.status_code)
    if path in PROTECTED:
        # No generated header can be the issued token.
        assert response.status_code == 401


@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(-5, 600))
def test_the_limit_is_validated_not_crashed_on(client, token, limit):
    response = client.get("/api/pending-emails", {"limit": limit}, **bearer(token[1]))
    assert response.status_code == (200 if 1 <= limit <= 500 else 422)
