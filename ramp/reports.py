"""The stored daily report (RampDay.report, plain JSON) as the lines an operator reads."""

from __future__ import annotations


def format_report(report: dict) -> list[str]:
    """Return the report as the lines an operator reads (also used by the admin)."""
    kpis = report["kpis"]
    shown = lambda key: "not recorded" if kpis[key] is None else str(kpis[key])  # noqa: E731
    rate = lambda key: "-" if kpis[key] is None else f"{kpis[key]:.1%}"  # noqa: E731
    lines = [
        f"Daily report {report['date']} ({'live' if report['ramp']['is_live'] else 'no live cycle'}, "
        f"{report['ramp']['dispatched']}/{report['ramp']['cap']} dispatched, {report['ramp']['errors']} errors)",
        f"Approved {report['approved']}, rejected {report['rejected']}, sent {report['sent']}",
        "Rejected by tag: " + (", ".join(f"{k} {v}" for k, v in report["rejected_by_tag"].items()) or "none"),
        f"KPIs: opens {shown('opens')}, replies {kpis['replies']} ({rate('reply_rate')}), bounces {kpis['bounces']} "
        f"({rate('bounce_rate')}), unsubscribes {kpis['unsubscribes']} ({rate('unsubscribe_rate')}), "
        f"complaints {shown('complaints')}, meetings {shown('meetings')}",
        "Top rejection reasons: "
        + (", ".join(f"{r['label']} ({r['count']})" for r in report["top_rejection_reasons"]) or "none"),
    ]
    lines.append("Anomalies: none" if not report["anomalies"] else "Anomalies:")
    lines.extend(f"  - {a}" for a in report["anomalies"])
    recommended = report["recommended_decision"]
    reasons = "; ".join(reason.rstrip(".") for reason in recommended["reasons"])
    lines.append(f"Recommended decision: {recommended['decision'].upper()} — {reasons}.")
    lines.append("Record it with `manage.py ramp decide <continue|hold|rollback> --by NAME --reason ...`.")
    return lines
