"""The runbook's stop conditions: one function each, over plain facts; each finding raises a hold.

The caller gathers the facts and passes them in, so this module never reads
outreach's tables; the rate conditions judge the window's counts through
`RampPolicy.breached_floors`, like the daily report and graduation. Preflight
and the daily report both call `apply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ramp.holds import raise_hold
from ramp.kpis import KpiCounts
from ramp.models import Hold, PreflightRun, RampPolicy


@dataclass
class QueueFacts:
    """What the stop conditions look at, gathered by outreach as plain values."""

    # One line a card: which card and what disagrees.
    inconsistent_cards: list[str] = field(default_factory=list)
    reappeared_leads: list[str] = field(default_factory=list)
    # Pending cards past the decision SLA (REVIEW_DECISION_SLA_MINUTES).
    sla_overdue: list[str] = field(default_factory=list)
    # Deliverability over the recent window.
    window_days: int = 7
    sent: int = 0
    bounces: int = 0
    unsubscribes: int = 0
    complaints: int = 0


@dataclass(frozen=True)
class StopFinding:
    source: str
    reason: str


def preflight_failure(run: PreflightRun) -> StopFinding | None:
    if run.passed:
        return None
    failed = [f"{row['id']} {row['name']}: {row['detail']}" for row in run.results if not row["passed"]]
    return StopFinding("preflight", "Preflight failed: " + "; ".join(failed))


def queue_inconsistency(facts: QueueFacts) -> StopFinding | None:
    if not facts.inconsistent_cards:
        return None
    return StopFinding(
        "queue_inconsistency",
        f"{len(facts.inconsistent_cards)} card(s) whose classifier/campaign disagree with their campaign or lead tier: "
        + "; ".join(facts.inconsistent_cards[:5]),
    )


def lead_reappeared(facts: QueueFacts) -> StopFinding | None:
    if not facts.reappeared_leads:
        return None
    return StopFinding(
        "lead_reappeared",
        f"{len(facts.reappeared_leads)} lead(s) back in the queue for a step already sent: " + "; ".join(facts.reappeared_leads[:5]),
    )


def deliverability(facts: QueueFacts, policy: RampPolicy) -> list[StopFinding]:
    """One finding a deliverability ceiling of the policy the window's counts break (source: the rate's key)."""
    counts = KpiCounts(sent=facts.sent, bounces=facts.bounces, unsubscribes=facts.unsubscribes, complaints=facts.complaints)
    return [
        StopFinding(breach.floor.key, f"{breach.as_line()}, over the last {facts.window_days} days.")
        for breach in policy.breached_floors(counts, stops_only=True)
    ]


def evaluate(facts: QueueFacts, policy: RampPolicy | None = None) -> list[StopFinding]:
    """Return every stop condition the facts meet (preflight failure is applied by preflight itself)."""
    policy = policy or RampPolicy.get()
    findings = [queue_inconsistency(facts), lead_reappeared(facts), *deliverability(facts, policy)]
    return [finding for finding in findings if finding is not None]


def apply(findings: list[StopFinding | None]) -> list[Hold]:
    """Raise a hold for each finding (a source already holding is not raised twice)."""
    return [raise_hold(reason=f.reason, source=f.source, raised_by="stop condition") for f in findings if f is not None]
