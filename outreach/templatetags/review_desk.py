"""Template tags of the admin shell: send mode, hold banner and today's figures on the index."""

from __future__ import annotations

from urllib.parse import urlparse

from django import template
from django.conf import settings

from outreach import review
from outreach.eligibility import Conditions
from outreach.reports.queue_facts import intake_facts
from ramp.days import ramp_day
from ramp.models import Hold, PreflightRun

register = template.Library()

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@register.simple_tag
def send_mode() -> dict:
    """Return where sends go: LIVE GHL when they would reach real contacts, SANDBOX for the local GHL sandbox.

    Not "dry": a live cycle against the sandbox is still a live cycle, and the
    ramp day says so; this badge answers only "would a real person get it?".
    """
    host = urlparse(settings.GHL_BASE_URL).hostname or ""
    if host in LOOPBACK_HOSTS:
        return {"label": "SANDBOX", "css": "sandbox", "title": "Sends go to the local GHL sandbox: no contact receives anything."}
    return {"label": "LIVE GHL", "css": "live", "title": f"Sends go to GoHighLevel at {host}: contacts receive them."}


@register.simple_tag
def webhook_intake() -> dict:
    """Return the webhook intake's state for the index: ok, and the problems preflight's P11 would name."""
    problems = intake_facts().problems()
    return {"ok": not problems, "problems": problems}


@register.simple_tag(takes_context=True)
def active_holds(context) -> list[Hold]:
    """Return the active holds (newest first), read once per request."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    if not hasattr(request, "_active_holds"):
        request._active_holds = list(Hold.objects.active().order_by("-raised_at"))
    return request._active_holds


@register.simple_tag
def today_at_a_glance() -> dict:
    """Return the index page figures: ramp day and cap, holds, queue, SLA breaches, last preflight."""
    conditions = Conditions.current()
    preflight = PreflightRun.objects.order_by("-ran_at").first()
    return {
        "day": ramp_day(),
        "split": review.queue_split(conditions=conditions),
        "breaches": review.sla_breaches(conditions=conditions),
        "preflight": preflight,
        "preflight_fresh": preflight.is_fresh() if preflight else False,
        "first_sla_minutes": settings.REVIEW_FIRST_SLA_MINUTES,
        "decision_sla_minutes": settings.REVIEW_DECISION_SLA_MINUTES,
    }
