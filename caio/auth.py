"""Token auth for the JSON API: `Authorization: Bearer <token>` or `X-CAIO-Token: <token>`.

- A presented token must be an active ApiToken, whatever the mode: a wrong,
  rotated or revoked token is always 401.
- With DASHBOARD_AUTH_STRICT=true an absent token is 401.
- With DASHBOARD_AUTH_STRICT=false an absent token is let through but flagged:
  the answer carries `X-CAIO-Auth: not-enforced` (and `smoke` fails on it).
Token values are never logged.

Also here: who may open the RQ dashboard (`may_open_rq_dashboard`), for both
its own URLs and the admin's copy of them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django_rq.queues import get_queue_by_index
from django_rq.settings import get_queues_list
from django.urls import URLPattern, reverse
from ninja.security.http import HttpAuthBase
from rq import Worker
from rq.job import Job

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


# django-rq lets in anyone with is_staff, and every Head of Sales is staff: the
# dashboard can delete or requeue dispatch jobs, so it takes django-rq's own
# permission, which only the Operator role (and superusers) hold.
RQ_DASHBOARD_PERMISSION = "django_rq.admin"


def may_open_rq_dashboard(user) -> bool:
    """Return whether `user` may see and act on the RQ dashboard."""
    return bool(user.is_active and user.is_staff and user.has_perm(RQ_DASHBOARD_PERMISSION))


def rq_dashboard_view(view: Callable) -> Callable:
    """Wrap a django-rq view: the login page for the anonymous, 403 without the permission."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not may_open_rq_dashboard(request.user):
            raise PermissionDenied
        if missing := _missing_rq_object(kwargs):
            raise Http404(missing)
        return view(request, *args, **kwargs)

    return guarded


def _missing_rq_object(kwargs: dict) -> str:
    """Return what a django-rq page names in its path but does not exist ('' when all exist).

    django-rq assumes they exist and answers a 500 (IndexError, NoSuchJobError,
    AssertionError) when a queue number, job id or worker key is wrong.
    """
    if "queue_index" not in kwargs:
        return ""
    if not 0 <= kwargs["queue_index"] < len(get_queues_list()):
        return f"No RQ queue number {kwargs['queue_index']}."
    connection = get_queue_by_index(kwargs["queue_index"]).connection
    if "job_id" in kwargs and not Job.exists(kwargs["job_id"], connection):
        return "No such RQ job."
    if "key" in kwargs:
        # find_by_key raises ValueError on a key outside RQ's worker namespace.
        key = kwargs["key"]
        if not key.startswith(Worker.redis_worker_namespace_prefix) or Worker.find_by_key(key, connection) is None:
            return "No such RQ worker."
    return ""


def rq_dashboard_urls(patterns: list[URLPattern]) -> list[URLPattern]:
    """Return django-rq's URL patterns with every view behind `rq_dashboard_view`.

    This covers the JSON stats view too, which django-rq would also open to a
    token in its path: our API tokens travel only in headers.
    """
    return [
        URLPattern(p.pattern, rq_dashboard_view(p.callback), p.default_args, p.name)
        for p in patterns
        # Pages for rq-scheduler, which we do not install (workers run RQ's own scheduler).
        if not (p.name or "").endswith("scheduler_jobs")
    ]
