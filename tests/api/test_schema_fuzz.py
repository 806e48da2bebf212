"""Schema-driven fuzzing of the JSON API: schemathesis generates requests from
our own OpenAPI document and checks every answer against it."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis import checks
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings as hypothesis_settings

from caio.models import ApiToken

# An unknown extra query parameter is ignored, as most HTTP APIs do; schemathesis's
# negative-data check would count that as accepting an invalid request. Invalid
# values of known parameters are still rejected (422, asserted in test_api.py).
EXCLUDED_CHECKS = [checks.negative_data_rejection]

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Call the WSGI app as Django's test client does: a real WSGI request closes
    database connections when it ends, which would cut the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def raw_token(redis_conn):
    return ApiToken.issue("fuzz")[1]


@schema.parametrize()
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_schema_with_a_token(case, raw_token):
    # Every answer: no 5xx, a documented status, the documented body and content type.
    case.call_and_validate(headers={"Authorization": f"Bearer {raw_token}"}, excluded_checks=EXCLUDED_CHECKS)


@schema.parametrize()
@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_schema_without_a_token(case, db):
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)
