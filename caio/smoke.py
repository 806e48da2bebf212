"""Smoke checks of a deployed instance over HTTP: health, readiness, token auth, payload shape.

Used by `manage.py smoke`. The token goes in a header only and never into a
result line: a failure names the check and the status, never the secret.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from caio.auth import AUTH_FLAG_HEADER, NOT_ENFORCED

PROTECTED = ("/api/pending-emails", "/api/rejection-tags", "/api/ramp")
PENDING_KEYS = {"generated_at", "redis", "hygiene", "cards"}
HYGIENE_KEYS = {"open", "eligible", "held_back", "held_back_by_reason"}
TIMEOUT = (3.05, 10)


@dataclass
class SmokeRow:
    id: str
    name: str
    passed: bool
    detail: str


def _get(session: requests.Session, url: str, token: str | None = None) -> requests.Response | str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        return session.get(url, headers=headers, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        return f"no answer ({exc.__class__.__name__})"


def _unexpected(response: requests.Response, expected: int) -> str:
    """Say what came instead of `expected`; a redirect to https names its usual cause."""
    detail = f"expected {expected}, got HTTP {response.status_code}"
    if response.is_redirect and response.headers.get("Location", "").startswith("https://"):
        detail += (
            ": the instance redirects plain HTTP to HTTPS (production posture). Smoke its https:// address, "
            "or put it behind a TLS proxy that sets X-Forwarded-Proto, as a platform's edge does"
        )
    return detail


def run_smoke(base_url: str, token: str, *, session: requests.Session | None = None) -> list[SmokeRow]:
    """Return one row a check against `base_url`."""
    session = session or requests.Session()
    base = base_url.rstrip("/")
    rows: list[SmokeRow] = []

    def add(check_id: str, name: str, passed: bool, detail: str) -> None:
        rows.append(SmokeRow(check_id, name, passed, detail))

    health = _get(session, f"{base}/api/health")
    if isinstance(health, str):
        add("S01", "Health", False, f"{base}/api/health: {health}")
        return rows
    add("S01", "Health", health.status_code == 200, f"HTTP {health.status_code}")

    ready = _get(session, f"{base}/api/ready")
    detail = f"HTTP {ready}" if isinstance(ready, str) else f"HTTP {ready.status_code}"
    if not isinstance(ready, str) and ready.status_code != 200:
        detail += f": {_safe_json(ready)}"
    add("S02", "Readiness", not isinstance(ready, str) and ready.status_code == 200, detail)

    for path in PROTECTED:
        bare = _get(session, f"{base}{path}")
        if isinstance(bare, str):
            add("S03", f"401 without token {path}", False, bare)
        elif bare.status_code == 401:
            add("S03", f"401 without token {path}", True, "HTTP 401")
        elif bare.status_code == 200 and bare.headers.get(AUTH_FLAG_HEADER) == NOT_ENFORCED:
            add("S03", f"401 without token {path}", False, "strict auth is OFF: the route answers without a token (set DASHBOARD_AUTH_STRICT=true)")
        else:
            add("S03", f"401 without token {path}", False, _unexpected(bare, 401))

    for path in PROTECTED:
        authed = _get(session, f"{base}{path}", token)
        if isinstance(authed, str):
            add("S04", f"200 with token {path}", False, authed)
        elif authed.status_code == 401:
            add("S04", f"200 with token {path}", False, "the token was rejected: it is wrong, rotated or revoked")
        else:
            add("S04", f"200 with token {path}", authed.status_code == 200,
                "HTTP 200" if authed.status_code == 200 else _unexpected(authed, 200))
            if path == "/api/pending-emails" and authed.status_code == 200:
                add("S05", "Pending-emails payload shape", *_pending_shape(authed))
    return rows


def _pending_shape(response: requests.Response) -> tuple[bool, str]:
    try:
        body = response.json()
    except ValueError:
        return False, "not JSON"
    missing = PENDING_KEYS - set(body)
    missing |= {f"hygiene.{k}" for k in HYGIENE_KEYS - set(body.get("hygiene") or {})}
    if missing:
        return False, f"missing {', '.join(sorted(missing))}"
    if not isinstance(body["cards"], list):
        return False, "cards is not a list"
    return True, (
        f"{len(body['cards'])} card(s) listed, {body['hygiene']['eligible']} eligible of {body['hygiene']['open']} open, "
        f"Redis {body['redis'].get('status')}"
    )


def _safe_json(response: requests.Response) -> str:
    try:
        return str(response.json())[:200]
    except ValueError:
        return response.text[:200]
