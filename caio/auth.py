"""Token auth for the JSON API: `Authorization: Bearer <token>` or `X-CAIO-Token: <token>`.

- A presented token must be an active ApiToken, whatever the mode: a wrong,
  rotated or revoked token is always 401.
- With DASHBOARD_AUTH_STRICT=true an absent token is 401.
- With DASHBOARD_AUTH_STRICT=false an absent token is let through but flagged:
  the answer carries `X-CAIO-Auth: not-enforced` (and `smoke` fails on it).
Token values are never logged.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.security.http import HttpAuthBase

from caio.models import ApiToken

TOKEN_HEADER = "X-CAIO-Token"
AUTH_FLAG_HEADER = "X-CAIO-Auth"
NOT_ENFORCED = "not-enforced"


class _NotEnforced:
    """The truthy auth result of a token-less request while strict auth is off."""

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        return NOT_ENFORCED


def presented_token(request: HttpRequest) -> str:
    """Return the raw token from the headers ('' when none was sent)."""
    value = request.headers.get("Authorization", "")
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        return rest.strip()
    return request.headers.get(TOKEN_HEADER, "").strip()


class TokenAuth(HttpAuthBase):
    openapi_scheme = "bearer"
    header = "Authorization"

    def __call__(self, request: HttpRequest):
        raw = presented_token(request)
        if raw:
            return ApiToken.authenticate(raw)
        if settings.DASHBOARD_AUTH_STRICT:
            return None
        return _NotEnforced()


def auth_not_enforced(request: HttpRequest) -> bool:
    return isinstance(getattr(request, "auth", None), _NotEnforced)
