"""Evidence acts when it lands: a bounce, complaint, unsubscribe or STOP stored is judged at once.

`suppress_lead` calls `judge_landed` inside its own transaction, for every
suppression that is deliverability evidence (whoever learnt it: a GHL webhook,
a STOP reply, the unsubscribe page). The stop conditions run over the window
then, and a hold they find is raised before the transaction commits, so the
next claim and every queued job (both re-check holds) send nothing more. The
hold names what landed, so the operator can find the delivery that raised it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from outreach.reports import outcomes
from ramp import stop_conditions
from ramp.models import Hold, RampPolicy

# The suppression reasons that are evidence about the sending itself (a person's
# do-not-contact is not: it says nothing about the emails).
EVIDENCE_REASONS = ("bounced", "complained", "unsubscribed")


def judge_landed(*, landed: str, now: dt.datetime | None = None, lead_id: int | None = None, send_day: dt.date | None = None) -> list[Hold]:
    """Run the deliverability stop conditions now and raise what they find; return the holds raised or fed.

    `landed` names what just arrived ("GHL webhook delivery 17 (complained)"):
    it is written into a new hold's reason; `lead_id` the lead it is about, whose
    email's send day has its counts restated, or `send_day` that day (default:
    the last window's days). A person's entry in the admin calls it too
    (`ramp.stop_conditions.evidence_landed`).
    """
    findings = stop_conditions.deliverability(outcomes.deliverability_facts(now=now), RampPolicy.get())
    holds = stop_conditions.apply([dataclasses.replace(f, reason=f"{f.reason} Raised as {landed} landed.") for f in findings])
    # The outcome belongs to the day its email was sent: that day's verdict (and its window's) is revised now.
    outcomes.restate(lead_id=lead_id, send_day=send_day, now=now)
    return holds
