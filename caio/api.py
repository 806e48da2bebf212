"""The small JSON API under /api/ (django-ninja: typed schemas and an OpenAPI document)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.db import connection
from django.http import HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Query, Schema, Status
from pydantic import Field

from caio import redis as caio_redis
from caio.auth import AUTH_FLAG_HEADER, NOT_ENFORCED, TokenAuth, auth_not_enforced
from caio.releases import unapplied_migrations
from outreach import eligibility
from outreach.reports.queue_facts import intake_facts
from outreach.models import RejectionTag
from ramp.holds import hold_banner_lines
from ramp.services import status

api = NinjaAPI(title="CAIO back office API", version="1.0", urls_namespace="api")


class HealthOut(Schema):
    status: str


class ReadyOut(Schema):
    status: str
    database: str
    migrations: str
    redis: str


@api.get("/health", response=HealthOut, auth=None, tags=["status"])
def health(request):
    """Liveness: the process answers."""
    return {"status": "ok"}


@api.get("/ready", response={200: ReadyOut, 503: ReadyOut}, auth=None, tags=["status"])
def ready(request):
    """Readiness: the database answers, migrations are applied and Redis answers."""
    body = {"status": "ready", "database": "ok", "migrations": "ok", "redis": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if unapplied_migrations():
            body["migrations"] = "unapplied migrations"
    except Exception as exc:  # any database failure means not ready
        body["database"] = f"error: {exc.__class__.__name__}"
    try:
        caio_redis.ping()
    except caio_redis.RedisUnavailable:
        body["redis"] = "unreachable"
    if any(value != "ok" for key, value in body.items() if key != "status"):
        body["status"] = "not ready"
        return Status(503, body)
    return Status(200, body)


# --- protected routes (token in a header; see caio.auth) -----------------------------

token_auth = TokenAuth()


class ErrorOut(Schema):
    detail: str


class ValidationErrorOut(Schema):
    detail: list[dict[str, Any]] = Field(description="One entry per invalid parameter: where, what and why.")


class RedisStatus(Schema):
    status: str = Field(description="active or unreachable")
    latency_ms: float | None = None


class HygieneSplit(Schema):
    open: int = Field(description="Pending and approved cards.")
    eligible: int = Field(description="Open cards (pending and approved) no eligibility rule holds back; the ramp's caps are not applied here.")
    held_back: int
    held_back_by_reason: dict[str, int] = Field(description="Held-back cards counted under their first reason code.")


class CardOut(Schema):
    code: str
    status: str
    lead_email: str
    company: str
    tier: str
    subject: str
    classifier: str
    campaign_ref: str
    route: str
    created_at: dt.datetime
    compliance_passed: bool
    is_shadow: bool
    is_canary: bool
    eligible: bool
    reason: str = Field(description="'eligible', or the code of the first rule that holds the card back.")
    held_back_by: list[str] = Field(description="Every rule code that holds the card back, in rule order.")


class PendingEmailsOut(Schema):
    generated_at: dt.datetime
    redis: RedisStatus
    hygiene: HygieneSplit
    holds: list[str]
    cards: list[CardOut]


class PendingEmailsQuery(Schema):
    limit: int = Field(100, ge=1, le=500, description="Most cards to list.")
    include_held_back: bool = Field(False, description="Also list held-back cards.")


class RejectionTagOut(Schema):
    slug: str
    label: str
    description: str
    system: bool


class RampOut(Schema):
    policy: dict[str, Any]
    today: dict[str, Any]
    holds: list[dict[str, Any]]
    stop_settings: list[str]
    graduation: dict[str, Any]
    quality: dict[str, Any]
    live_cycle_blockers: list[str]
    webhook_intake: dict[str, Any] = Field(
        description="ok, the problems preflight's P11 names (refused deliveries, sends with no event back) and their counts."
    )


def _flag_unenforced(request, response: HttpResponse) -> None:
    if auth_not_enforced(request):
        response[AUTH_FLAG_HEADER] = NOT_ENFORCED


def _redis_status() -> dict:
    try:
        return {"status": "active", "latency_ms": round(caio_redis.ping(), 1)}
    except caio_redis.RedisUnavailable:
        return {"status": "unreachable", "latency_ms": None}


@api.get(
    "/pending-emails",
    response={200: PendingEmailsOut, 401: ErrorOut, 422: ValidationErrorOut},
    auth=token_auth,
    tags=["queue"],
)
def pending_emails(request, response: HttpResponse, filters: Query[PendingEmailsQuery]):
    """The open queue (pending and approved cards) with its hygiene split and Redis status."""
    _flag_unenforced(request, response)
    verdicts = eligibility.judge_queue()
    reasons = Counter(v.reason for v in verdicts if not v.eligible)
    listed = [v for v in verdicts if filters.include_held_back or v.eligible][: filters.limit]
    return {
        "generated_at": timezone.now(),
        "redis": _redis_status(),
        "hygiene": {
            "open": len(verdicts),
            "eligible": sum(1 for v in verdicts if v.eligible),
            "held_back": sum(1 for v in verdicts if not v.eligible),
            "held_back_by_reason": dict(reasons),
        },
        "holds": hold_banner_lines()[1:],
        "cards": [
            {
                "code": str(v.card.code),
                "status": v.card.status,
                "lead_email": v.card.lead.email,
                "company": v.card.lead.company,
                "tier": v.card.lead.tier,
                "subject": v.card.subject,
                "classifier": v.card.classifier,
                "campaign_ref": v.card.campaign_ref,
                "route": v.card.route,
                "created_at": v.card.created_at,
                "compliance_passed": v.card.compliance_passed,
                "is_shadow": v.card.is_shadow,
                "is_canary": v.card.is_canary,
                "eligible": v.eligible,
                "reason": v.reason,
                "held_back_by": v.reasons,
            }
            for v in listed
        ],
    }


@api.get("/rejection-tags", response={200: list[RejectionTagOut], 401: ErrorOut}, auth=token_auth, tags=["queue"])
def rejection_tags(request, response: HttpResponse):
    """The active rejection tags (reviewers pick one for every rejection; `system` ones are for cleanup)."""
    _flag_unenforced(request, response)
    return list(RejectionTag.objects.filter(active=True).values("slug", "label", "description", "system"))


@api.get("/ramp", response={200: RampOut, 401: ErrorOut}, auth=token_auth, tags=["ramp"])
def ramp_state(request, response: HttpResponse):
    """The ramp policy, today's ramp day, active holds, stop settings, graduation review, the HoS's quality records and live-cycle blockers."""
    _flag_unenforced(request, response)
    intake = intake_facts()
    return {
        **status(),
        "webhook_intake": {
            "ok": not intake.problems(),
            "problems": intake.problems(),
            "since": intake.since.isoformat(),
            "refusals": intake.refusals,
            "refusals_not_recorded": intake.dropped,
            "first_refusal": intake.first_refusal,
            "silent_sends": intake.silent_sends,
            "silence_minutes": intake.silence_minutes,
            "last_delivery_at": intake.last_delivery_at.isoformat() if intake.last_delivery_at else None,
        },
    }
