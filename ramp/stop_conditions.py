"""The runbook's stop conditions: one function each, over plain facts; each finding raises a hold.

The caller gathers the facts and passes them in, so this module never reads
outreach's tables; the rate conditions judge the window's counts through
`RampPolicy.breached_floors`, like the daily report and graduation. Preflight
and the daily report both call `apply`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ramp.holds import STOP_CONDITION, is_covered, raise_hold
from ramp.kpis import KpiCounts
from ramp.models import Hold, PreflightRun, RampPolicy


@dataclass
class IntakeFacts:
    """The webhook intake since `since` (the last live cycle's start, or 24 hours back if that is earlier)."""

    since: dt.datetime
    # Deliveries refused for their signature, freshness or form; and the ones the per-minute cap did not record.
    refusals: int = 0
    dropped: int = 0
    first_refusal: str = ""
    refusal_evidence: list[str] = field(default_factory=list)
    # Sends older than the silence window with no delivery at all received since the first of them.
    silence_minutes: int = 180
    silent_sends: int = 0
    first_silent_send_at: dt.datetime | None = None
    silent_evidence: list[str] = field(default_factory=list)
    last_delivery_at: dt.datetime | None = None

    def problems(self) -> list[str]:
        """One line per way the intake fails (empty: it is healthy)."""
        problems = []
        if self.refusals or self.dropped:
            unrecorded = f" (+{self.dropped} more not recorded, over the per-minute cap)" if self.dropped else ""
            problems.append(
                f"{self.refusals} webhook delivery(ies) refused for the signature since {self.since:%Y-%m-%d %H:%M} UTC"
                f"{unrecorded}; first: {self.first_refusal or '(not recorded)'}"
            )
        if self.silent_sends:
            problems.append(
                f"{self.silent_sends} email(s) sent since {self.first_silent_send_at:%Y-%m-%d %H:%M} UTC and no webhook "
                f"event at all came back within {self.silence_minutes} minutes: check GHL's webhook settings and "
                "GHL_WEBHOOK_ED25519_PUBLIC_KEY"
            )
        return problems

    @property
    def evidence(self) -> list[str]:
        return [*self.refusal_evidence, *self.silent_evidence]


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
    # The webhook intake, when the provider gathers it.
    intake: IntakeFacts | None = None

    def evidence_for(self, count_name: str) -> list[str]:
        return list(getattr(self, f"{count_name[:-1]}_evidence"))


@dataclass(frozen=True)
class StopFinding:
    source: str
    reason: str
    evidence: tuple[str, ...] = ()


# Preflight checks whose failure is a hold of its own (or the hold itself):
# a preflight failing only on these raises no further `preflight` hold.
CHECKS_WITH_THEIR_OWN_HOLD = ("P08", "P09", "P11")


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


def webhook_intake(intake: IntakeFacts | None) -> StopFinding | None:
    """Refusals, or sends with no event back: GHL's events (bounces, STOPs, complaints) are being lost.

    Events already covered by a hold of this source (even a cleared one) find
    nothing again, so an operator who fixed the key and cleared the hold is not
    held by the same refusals; new ones raise it anew.
    """
    if intake is None or not intake.problems():
        return None
    if is_covered("webhook_intake", intake.evidence):
        return None
    return StopFinding("webhook_intake", "Webhook intake: " + "; ".join(intake.problems()), tuple(intake.evidence))


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
    findings = [queue_inconsistency(facts), lead_reappeared(facts), *deliverability(facts, policy), webhook_intake(facts.intake)]
    return [finding for finding in findings if finding is not None]


def apply(findings: list[StopFinding | None]) -> list[Hold]:
    """Raise a hold for each finding (a source already holding, or evidence already covered, raises none)."""
    holds = [
        raise_hold(reason=f.reason, source=f.source, raised_by=STOP_CONDITION, evidence=list(f.evidence))
        for f in findings
        if f is not None
    ]
    return [hold for hold in holds if hold is not None]
