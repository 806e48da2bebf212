"""Preflight: the local gates before a live cycle, one row a check, recorded as a PreflightRun.

`run_preflight` is what `manage.py preflight` and `dispatch --live` call. The
queue checks need facts from outreach's tables, which this app never imports:
the caller passes a provider in, or outreach registers one when it loads
(`register_facts_provider`, from its AppConfig), so imports run one way.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone
from redis import RedisError
from rq import Queue, Worker

from caio import redis as caio_redis
from caio.releases import unapplied_migrations
from ghl.client import GhlClient, get_client
from ghl.errors import GhlAuthError, GhlError, GhlUnreadableAnswer
from ramp import stop_conditions
from ramp.days import operating_date
from ramp.limits import effective_cap
from ramp.models import Hold, PreflightRun, RampDay, RampPolicy
from ramp.notify import notify

logger = logging.getLogger(__name__)

FactsProvider = Callable[..., stop_conditions.QueueFacts]
_registered_facts_provider: FactsProvider | None = None
DISPATCH_QUEUE = "dispatch"
# Redis answering slower than this makes the rate limiter and claims sluggish.
REDIS_MAX_LATENCY_MS = 250.0
# A probe address no contact uses: the lookup costs one cheap authenticated GET.
GHL_PROBE_EMAIL = "preflight-probe@caio.invalid"
KNOWN_TIERS = ("tier_1", "tier_2", "tier_3")


@dataclass
class CheckRow:
    id: str
    name: str
    passed: bool
    detail: str
    ms: float = 0.0


def register_facts_provider(provider: FactsProvider) -> None:
    """Name the function that gathers the queue facts (`provider(now=...)`) when a caller passes none."""
    global _registered_facts_provider
    _registered_facts_provider = provider


class NoFactsProvider(Exception):
    pass


class Context:
    """What the checks share: the time of the run, the queue facts (gathered once) and the GHL client factory."""

    def __init__(
        self,
        now: dt.datetime,
        facts_provider: FactsProvider | None = None,
        ghl_client_factory: Callable[..., GhlClient] = get_client,
    ) -> None:
        self.now = now
        self._facts_provider = facts_provider
        self.ghl_client_factory = ghl_client_factory
        self._facts: stop_conditions.QueueFacts | None = None

    @property
    def facts(self) -> stop_conditions.QueueFacts:
        if self._facts is None:
            provider = self._facts_provider or _registered_facts_provider
            if provider is None:
                raise NoFactsProvider("no queue facts provider: pass one to run_preflight or register one")
            self._facts = provider(now=self.now)
        return self._facts


def check_database(ctx: Context) -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    if plan := unapplied_migrations():
        return False, f"{len(plan)} unapplied migration(s): {', '.join(plan[:5])} — run `manage.py migrate`"
    return True, f"{connection.vendor} answers; migrations applied"


def check_redis(ctx: Context) -> tuple[bool, str]:
    try:
        latency = caio_redis.ping()
    except caio_redis.RedisUnavailable as exc:
        return False, str(exc)
    if latency > REDIS_MAX_LATENCY_MS:
        return False, f"Redis answers in {latency:.0f} ms, over {REDIS_MAX_LATENCY_MS:.0f} ms"
    return True, f"Redis answers in {latency:.1f} ms at {caio_redis.redacted_redis_url()}"


def check_workers(ctx: Context) -> tuple[bool, str]:
    conn = caio_redis.get_connection()
    try:
        workers = Worker.all(connection=conn, queue=Queue(DISPATCH_QUEUE, connection=conn))
    except RedisError as exc:
        return False, f"cannot list workers: Redis unreachable ({exc.__class__.__name__})"
    finally:
        conn.close()
    if not workers:
        return False, f"no worker listens on the {DISPATCH_QUEUE!r} queue: start `manage.py rqworker {DISPATCH_QUEUE}`"
    return True, f"{len(workers)} worker(s) on {DISPATCH_QUEUE!r}: " + ", ".join(w.name for w in workers[:3])


def check_strict_flags(ctx: Context) -> tuple[bool, str]:
    off = [name for name in ("DASHBOARD_AUTH_STRICT", "REDIS_REQUIRED") if not getattr(settings, name)]
    if off:
        return False, f"{' and '.join(off)} must be true in every environment that sends"
    return True, "DASHBOARD_AUTH_STRICT=true, REDIS_REQUIRED=true"


def check_ghl(ctx: Context) -> tuple[bool, str]:
    client = ctx.ghl_client_factory(read_retries=0)
    try:
        client.find_contact_by_email(GHL_PROBE_EMAIL)
    except GhlAuthError as exc:
        return False, f"GHL rejected the token (HTTP {exc.status}): rotate GHL_TOKEN or check GHL_LOCATION_ID"
    except GhlUnreadableAnswer as exc:
        # An empty or garbled 200 is no proof that GHL (rather than a proxy in front of it) took the token.
        return False, f"GHL at {client.base_url} gave no readable answer: {exc.message}"
    except GhlError as exc:
        return False, f"GHL not reachable at {client.base_url}: {exc.__class__.__name__}: {exc.message}"
    finally:
        client.close()
    return True, f"GHL answers with the configured token at {client.base_url}"


def check_queue_integrity(ctx: Context) -> tuple[bool, str]:
    facts = ctx.facts
    problems = []
    if facts.inconsistent_cards:
        problems.append(f"{len(facts.inconsistent_cards)} inconsistent card(s): {facts.inconsistent_cards[0]}")
    if facts.reappeared_leads:
        problems.append(f"{len(facts.reappeared_leads)} lead(s) reappearing after a send: {facts.reappeared_leads[0]}")
    if problems:
        return False, "; ".join(problems)
    return True, "classifiers, campaigns and tiers agree; no lead reappears after a send"


def check_sla_backlog(ctx: Context) -> tuple[bool, str]:
    overdue = ctx.facts.sla_overdue
    if overdue:
        return False, (
            f"{len(overdue)} pending card(s) past the {settings.REVIEW_DECISION_SLA_MINUTES}-minute decision SLA "
            f"(first: {overdue[0]}): resolve the backlog before a live cycle"
        )
    return True, f"no pending card past the {settings.REVIEW_DECISION_SLA_MINUTES}-minute decision SLA"


def check_deliverability(ctx: Context) -> tuple[bool, str]:
    findings = stop_conditions.deliverability(ctx.facts, RampPolicy.get())
    if findings:
        return False, " ".join(f.reason for f in findings)
    facts = ctx.facts
    return True, f"{facts.sent} sent in {facts.window_days} days: bounces {facts.bounces}, unsubscribes {facts.unsubscribes}, complaints {facts.complaints}"


def check_webhook_intake(ctx: Context) -> tuple[bool, str]:
    intake = ctx.facts.intake
    if intake is None:
        return False, "the queue facts provider gathers no webhook intake facts"
    finding = stop_conditions.webhook_intake(intake)
    if finding is not None:
        return False, finding.reason.removeprefix("Webhook intake: ")
    if intake.problems():
        return True, "problems already covered by a webhook_intake hold: " + "; ".join(intake.problems())
    last = f"last delivery {intake.last_delivery_at:%Y-%m-%d %H:%M} UTC" if intake.last_delivery_at else "no delivery yet"
    return True, f"no refused delivery and no silent send since {intake.since:%Y-%m-%d %H:%M} UTC; {last}"


def check_holds(ctx: Context) -> tuple[bool, str]:
    holds = list(Hold.objects.active())
    if holds:
        return False, f"{len(holds)} active hold(s): " + "; ".join(h.as_line() for h in holds[:3])
    return True, "no active hold"


def policy_problems(policy: RampPolicy) -> list[str]:
    """Return what is wrong with the ramp policy's values (empty: sane)."""
    problems = []
    if policy.daily_cap < 1:
        problems.append("daily cap is 0")
    if policy.per_company_daily_cap < 1:
        problems.append("per-company cap is 0")
    if policy.clean_days_required < 1:
        problems.append("clean_days_required is 0")
    tiers = policy.allowed_tiers
    if not isinstance(tiers, list) or not tiers or any(t not in KNOWN_TIERS for t in tiers):
        problems.append(f"allowed tiers {tiers!r} must be a non-empty list of {', '.join(KNOWN_TIERS)}")
    steps = policy.cap_steps
    if not isinstance(steps, list) or any(not isinstance(s, int) or s < 1 for s in steps):
        problems.append(f"cap steps {steps!r} must be a list of positive whole numbers")
    elif steps != sorted(steps) or (steps and steps[0] < policy.daily_cap):
        problems.append(f"cap steps {steps} must rise from at least the ramp cap {policy.daily_cap}")
    if not 0 <= float(policy.tier2_canary_share) <= 1:
        problems.append("tier_2 canary share must be between 0 and 1")
    if policy.window_start == policy.window_end:
        problems.append("the sending window is empty (start equals end)")
    return problems


def check_ramp(ctx: Context) -> tuple[bool, str]:
    policy = RampPolicy.get()
    problems = policy_problems(policy)
    day = RampDay.objects.filter(date=operating_date(ctx.now)).first()
    if day is not None and day.dispatched_count > day.cap:
        problems.append(f"today dispatched {day.dispatched_count}, over its cap {day.cap}")
    if day is not None and day.cap > effective_cap(day.cap, policy):
        problems.append(
            f"today's cap {day.cap} is over the {policy.current_cap()}/day of graduation level {policy.graduation_level}"
        )
    if problems:
        return False, "; ".join(problems)
    return True, f"cap {policy.current_cap()}/day, tiers {', '.join(policy.allowed_tiers)}, level {policy.graduation_level}"


CHECKS: list[tuple[str, str, Callable[[Context], tuple[bool, str]]]] = [
    ("P01", "Database and migrations", check_database),
    ("P02", "Redis and latency", check_redis),
    ("P03", "Dispatch workers alive", check_workers),
    ("P04", "Strict flags", check_strict_flags),
    ("P05", "GHL reachable with the configured token", check_ghl),
    ("P06", "Queue integrity", check_queue_integrity),
    ("P07", "SLA backlog", check_sla_backlog),
    ("P08", "Deliverability rates", check_deliverability),
    ("P09", "Holds", check_holds),
    ("P10", "Ramp sanity", check_ramp),
    ("P11", "Webhook intake", check_webhook_intake),
]


def run_checks(ctx: Context) -> list[CheckRow]:
    rows = []
    for check_id, name, check in CHECKS:
        started = time.perf_counter()
        try:
            passed, detail = check(ctx)
        except Exception as exc:  # a broken check is a failed gate, never a crash
            logger.exception("Preflight check %s crashed", check_id)
            passed, detail = False, f"check crashed: {exc.__class__.__name__}: {exc}"
        rows.append(CheckRow(check_id, name, passed, detail, round((time.perf_counter() - started) * 1000, 1)))
    return rows


def run_preflight(
    *,
    ran_by: str = "",
    now: dt.datetime | None = None,
    facts_provider: FactsProvider | None = None,
    ghl_client_factory: Callable[..., GhlClient] = get_client,
) -> PreflightRun:
    """Run every check, record the run, and escalate a failure.

    1. Run the checks in order (a crash counts as a failure).
    2. Record the PreflightRun.
    3. Raise a hold for each stop condition the queue facts meet, then, when
       any check failed, a `preflight` hold; notify Slack (when configured).
    """
    ctx = Context(now or timezone.now(), facts_provider, ghl_client_factory)
    rows = run_checks(ctx)
    run = PreflightRun.objects.create(
        ran_at=ctx.now, passed=all(r.passed for r in rows), results=[asdict(r) for r in rows], ran_by=ran_by
    )
    if ctx._facts is not None:
        stop_conditions.apply(stop_conditions.evaluate(ctx._facts))
    finding = stop_conditions.preflight_failure(run)
    if finding is not None:
        stop_conditions.apply([finding])
        notify(f":x: CAIO preflight failed ({settings.CAIO_ENVIRONMENT}): {finding.reason}")
    return run
