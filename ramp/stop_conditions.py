"""The runbook's stop conditions: one function each, over plain facts; each finding raises a hold.

The caller gathers the facts and passes them in, so this module never reads
outreach's tables; the rate conditions judge the window's counts through
`RampPolicy.breached_floors`, like the daily report and graduation. Preflight
and the daily report both call `apply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ramp.holds import STOP_CONDITION, is_covered, raise_hold
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
    # Which events those counts are (e.g. "unsubscribe:lead:12"): a hold
    # records the ones it covered, so clearing it is not undone by the same events.
    bounce_evidence: list[str] = field(default_factory=list)
    unsubscribe_evidence: list[str] = field(default_factory=list)
    complaint_evidence: list[str] = field(default_factory=list)

    def evidence_for(self, count_name: str) -> list[str]:
        return list(getattr(self, f"{count_name[:-1]}_evidence"))


@dataclass(frozen=True)
class StopFinding:
    source: str
    reason: str
    evidence: tuple[str, ...] = ()


# Preflight checks whose failure is a hold of its own (or the hold itself):
# a preflight failing only on these raises no further `preflight` hold.
CHECKS_WITH_THEIR_OWN_HOLD = ("P08", "P09")


def preflight_failure(run: PreflightRun) -> StopFinding | None:
    if run.passed:
        return None
    failed = [
        f"{row['id']} {row['name']}: {row['detail']}"
        for row in run.results
        if not row["passed"] and row["id"] not in CHECKS_WITH_THEIR_OWN_HOLD
    ]
    if not failed:
        return None
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


def window_counts(facts: QueueFacts) -> KpiCounts:
    return KpiCounts(sent=facts.sent, bounces=facts.bounces, unsubscribes=facts.unsubscribes, complaints=facts.complaints)


def deliverability(facts: QueueFacts, policy: RampPolicy) -> list[StopFinding]:
    """One finding a deliverability ceiling that holds (source: the rate's key), with the numbers and the test.

    A ceiling holds when the window shows the rate over it at the policy's
    confidence, or its count reaches the policy's hold count; evidence already
    covered by a hold (even a cleared one) finds nothing again.
    """
    findings = []
    for verdict in policy.stop_verdicts(window_counts(facts)):
        if not verdict.holds:
            continue
        evidence = tuple(facts.evidence_for(verdict.floor.count))
        if is_covered(verdict.floor.key, evidence):
            continue
        findings.append(StopFinding(verdict.floor.key, window_line(verdict, facts), evidence))
    return findings


def window_line(verdict, facts: QueueFacts) -> str:
    """A ceiling's verdict over the window, written the same in a hold, the report and its warnings."""
    return f"{verdict.as_line()}, over the last {facts.window_days} days."


def holding_lines(facts: QueueFacts, policy: RampPolicy) -> list[str]:
    """Every deliverability ceiling that holds over the window, whether or not a hold already covers it:
    what the daily report recommends on (and graduation reads from the stored window)."""
    return [window_line(verdict, facts) for verdict in policy.stop_verdicts(window_counts(facts)) if verdict.holds]


def deliverability_warnings(facts: QueueFacts, policy: RampPolicy) -> list[str]:
    """The window's events that are shown, not held on: too few to show a rate over its ceiling."""
    return [
        f"warning: {window_line(verdict, facts)}"
        for verdict in policy.stop_verdicts(window_counts(facts))
        if verdict.warns
    ]


def evaluate(facts: QueueFacts, policy: RampPolicy | None = None) -> list[StopFinding]:
    """Return every stop condition the facts meet (preflight failure is applied by preflight itself)."""
    policy = policy or RampPolicy.get()
    findings = [queue_inconsistency(facts), lead_reappeared(facts), *deliverability(facts, policy)]
    return [finding for finding in findings if finding is not None]


def apply(findings: list[StopFinding | None]) -> list[Hold]:
    """Raise a hold for each finding (a source already holding, or evidence already covered, raises none)."""
    holds = [
        raise_hold(reason=f.reason, source=f.source, raised_by=STOP_CONDITION, evidence=list(f.evidence))
        for f in findings
        if f is not None
    ]
    return [hold for hold in holds if hold is not None]
