"""The daily report: the day's numbers, its anomalies and the recommended decision.

Outreach counts the day in its own tables and hands the counts in as a
`DayActivity` (with the queue's stop-condition facts); this module judges the
KPIs through `RampPolicy.stop_verdicts` over the window, the same verdict
graduation and the stop conditions use, so the recommendation and graduation
cannot disagree on a limit. The day's outcomes are those of the emails it sent,
whenever they arrived (`outreach.reports.outcomes`); what arrived on the day is
shown beside them. The report is stored on the RampDay as plain JSON and read back as lines
by `format_report` (the command and the admin page).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ramp import stop_conditions
from ramp.cycles import cycles_of
from ramp.clean import WINDOW, day_problems
from ramp.days import day_bounds, ramp_day
from ramp.holds import active_holds
from ramp.kpis import FLOORS, KpiCounts
from ramp.models import QueueTrace, RampDay, RampPolicy

CONTINUE, HOLD, ROLLBACK = "continue", "hold", "rollback"
# The sources of the holds the KPI verdicts raise (reported through the verdicts, not as anomalies).
STOP_SOURCES = tuple(floor.key for floor in FLOORS)
# Where a stored day keeps what arrived on it, beside its send-day counts.
ARRIVED = "arrived"


@dataclass
class DayActivity:
    """What outreach counted for one operating day, as plain values."""

    date: dt.date
    approved: int = 0
    # Rejections by tag slug ("untagged" for none), most frequent first.
    rejected_by_tag: dict[str, int] = field(default_factory=dict)
    # The reviewers' top reasons (system tags left out): tag, label, count.
    top_rejection_reasons: list[dict] = field(default_factory=list)
    hygiene_rejected: int = 0
    # The day's sends (by claim day) and what came back from them, whenever it arrived.
    sent: int = 0
    replies: int = 0
    bounces: int = 0
    unsubscribes: int = 0
    # Complaints about the day's emails (GHL's events, or the operator's figure when larger); None: neither has any.
    complaints: int | None = None
    # What arrived on the day, whichever day's email it answers: replies, bounces, unsubscribes, complaints.
    arrived: dict[str, int] = field(default_factory=dict)
    # GHL webhook events of the day by kind: opened, complained, meeting.
    events: dict[str, int] = field(default_factory=dict)
    # Claimed cards that failed that day without being sent, each with why: card id and reason.
    not_sent: list[dict] = field(default_factory=list)


def signal(from_events: int, reported: int | None) -> int | None:
    """Return a KPI counted from GHL's webhook events, or the operator's figure when one was entered.

    None means neither source has anything: the report says "not recorded"
    rather than a misleading zero.
    """
    if reported is not None:
        return reported
    return from_events or None


def recommend(
    *,
    findings: list[stop_conditions.StopFinding],
    anomalies: list[str],
    holds: int,
    errors: int,
    level: int,
    stop_lines: list[str] = (),
    floor_lines: list[str] = (),
) -> tuple[str, list[str]]:
    """Return the recommended decision (continue / hold / rollback) and its reasons.

    rollback: a deliverability ceiling holds over the window (`stop_lines`, from
    the policy's one verdict, whether or not a hold already covers its evidence),
    or a lead reappeared after a send, and there is a lower
    cap to go back to (level 1 or more). At level 0 the same is a hold, and the
    reasons say why.
    hold: the reply floor holds over the window (`floor_lines`, the same
    verdict, which raises its hold too), a hold is active, sends failed, or the
    queue showed another anomaly.
    continue: otherwise.
    """
    rollback = list(stop_lines)
    rollback += [f"lead reappeared: {f.reason}" for f in findings if f.source == "lead_reappeared"]
    hold = list(floor_lines)
    if holds:
        hold.append(f"{holds} hold(s) active")
    if errors:
        hold.append(f"{errors} send error(s)")
    hold += anomalies
    if rollback and level == 0:
        return HOLD, [*rollback, "at level 0 the cap is already the ramp cap, so there is nothing to roll back to: hold", *hold]
    if rollback:
        return ROLLBACK, rollback + hold
    if hold:
        return HOLD, hold
    return CONTINUE, ["no anomaly, no hold, every KPI within the policy's floors"]


def day_counts(activity: DayActivity, day: RampDay) -> KpiCounts:
    """A day's KPI counts: GHL's events, or for the signals GHL may not report, the figure the operator entered."""
    return KpiCounts(
        sent=activity.sent,
        replies=activity.replies,
        bounces=activity.bounces,
        unsubscribes=activity.unsubscribes,
        complaints=activity.complaints,
        opens=signal(activity.events.get("opened", 0), day.reported_opens),
        meetings=signal(activity.events.get("meeting", 0), day.reported_meetings),
    )


def daily_report(activity: DayActivity, facts: stop_conditions.QueueFacts, *, now: dt.datetime) -> dict:
    """Build the end-of-day report, run the stop conditions (raising holds), and store it on the RampDay."""
    date = activity.date
    start, end = day_bounds(date)
    policy = RampPolicy.get()
    day = ramp_day(date)
    counts = day_counts(activity, day)
    findings = stop_conditions.evaluate(facts, policy)
    window = stop_conditions.window_counts(facts)
    anomalies = [f"{f.source.replace('_', ' ')}: {f.reason}" for f in findings if f.source not in ("lead_reappeared", *STOP_SOURCES)]
    if day.dispatched_count > day.cap:
        anomalies.append(f"dispatched {day.dispatched_count} over the cap {day.cap}")
    drifted = QueueTrace.objects.filter(drift_flagged=True, taken_at__gte=start, taken_at__lt=end).count()
    if drifted:
        anomalies.append(f"queue drift flagged by {drifted} trace(s)")
    stop_conditions.apply(findings)
    holds = list(active_holds())
    holding = stop_conditions.holding_lines(facts, policy)
    decision, reasons = recommend(
        findings=findings,
        anomalies=anomalies,
        holds=len(holds),
        errors=day.error_count,
        level=policy.graduation_level,
        stop_lines=[line for floor, line in holding if floor.is_ceiling],
        floor_lines=[line for floor, line in holding if not floor.is_ceiling],
    )
    # The window's counts are kept beside the day's: graduation judges the day by the same verdict over the same window.
    store_kpis(day, counts, window, arrived=activity.arrived)
    report = {
        "date": date.isoformat(),
        "generated_at": now.isoformat(),
        "approved": activity.approved,
        "rejected": sum(activity.rejected_by_tag.values()),
        "rejected_by_tag": activity.rejected_by_tag,
        # Cleanup is the runbook's own step, recorded card by card: a fact of the day, not an anomaly.
        "hygiene_rejected": activity.hygiene_rejected,
        "top_rejection_reasons": activity.top_rejection_reasons[:3],
        "sent": counts.sent,
        "not_sent": activity.not_sent,
        "kpis": {**counts.as_stored(), **counts.rates()},
        ARRIVED: activity.arrived,
        "ramp": {"is_live": day.is_live, "cap": day.cap, "dispatched": day.dispatched_count, "errors": day.error_count, "is_clean": not day_problems(day, policy)},
        "holds": [hold.as_line() for hold in holds],
        "cycles": [cycle.as_report() for cycle in cycles_of(date)],
        "anomalies": [f"lead reappeared: {f.reason}" for f in findings if f.source == "lead_reappeared"] + anomalies,
        "warnings": stop_conditions.deliverability_warnings(facts, policy),
        "recommended_decision": {"decision": decision, "reasons": reasons},
    }
    day.report = report
    day.save(update_fields=["report", "kpis"])
    return report


def store_kpis(day: RampDay, counts: KpiCounts, window: KpiCounts, *, arrived: dict[str, int]) -> None:
    """Keep on `day` its send-day counts, the window its verdict reads and what arrived on it (saved by the caller)."""
    day.kpis = {**counts.as_stored(), WINDOW: window.as_stored(), ARRIVED: dict(arrived)}


def restate(day: RampDay, counts: KpiCounts, window: KpiCounts, *, arrived: dict[str, int]) -> None:
    """Store a reported day's counts and window again as its emails' outcomes now stand (late evidence revises its verdict)."""
    if KpiCounts.from_stored(day.kpis or {}) is None:
        return
    store_kpis(day, counts, window, arrived=arrived)
    RampDay.objects.filter(pk=day.pk).update(kpis=day.kpis)


def format_report(report: dict) -> list[str]:
    """Return the stored report as the lines an operator reads (the command and the admin)."""
    kpis = report["kpis"]
    counts = KpiCounts.from_stored(kpis) or KpiCounts(sent=0)
    shown = lambda key: "not recorded" if kpis[key] is None else str(kpis[key])  # noqa: E731
    lines = [
        f"Daily report {report['date']} ({'live' if report['ramp']['is_live'] else 'no live cycle'}, "
        f"{report['ramp']['dispatched']}/{report['ramp']['cap']} dispatched, {report['ramp']['errors']} errors)",
        f"Approved {report['approved']}, rejected {report['rejected']}, sent {report['sent']}",
        "Rejected by tag: " + (", ".join(f"{k} {v}" for k, v in report["rejected_by_tag"].items()) or "none"),
        "KPIs of the day: "
        + ", ".join(counts.figure(name, over=" today") for name in ("opens", "replies", "bounces", "unsubscribes", "complaints"))
        + f", meetings {shown('meetings')}",
        "Arrived today (whichever day's email they answer): "
        + (", ".join(f"{name} {n}" for name, n in report.get(ARRIVED, {}).items()) or "nothing"),
        "Top rejection reasons: "
        + (", ".join(f"{r['label']} ({r['count']})" for r in report["top_rejection_reasons"]) or "none"),
    ]
    cycles = report.get("cycles", [])
    lines.append(f"Live cycles: {len(cycles)}" if cycles else "Live cycles: none")
    lines.extend(f"  - {cycle['line']}" for cycle in cycles)
    if report.get("hygiene_rejected"):
        lines.append(f"Queue cleanup rejected {report['hygiene_rejected']} card(s) that could never be sent as they were")
    lines.append("Anomalies: none" if not report["anomalies"] else "Anomalies:")
    lines.extend(f"  - {a}" for a in report["anomalies"])
    lines.extend(f"  - {w}" for w in report.get("warnings", []))
    recommended = report["recommended_decision"]
    reasons = "; ".join(reason.rstrip(".") for reason in recommended["reasons"])
    lines.append(f"Recommended decision: {recommended['decision'].upper()} — {reasons}.")
    lines.append("Record it with `manage.py ramp decide <continue|hold|rollback> --token T --reason ...` (your personal API token).")
    return lines
