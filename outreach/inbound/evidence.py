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

from outreach.reports.queue_facts import deliverability_facts
from ramp import stop_conditions
from ramp.models import Hold, RampPolicy

# The suppression reasons that are evidence about the sending itself (a person's
# do-not-contact is not: it says nothing about the emails).
EVIDENCE_REASONS = ("bounced", "complained", "unsubscribed")


def judge_landed(*, landed: str, now: dt.datetime | None = None) -> list[Hold]:
    """Run the deliverability stop conditions now and raise what they find; return the holds raised or fed.

    `landed` names what just arrived ("GHL webhook delivery 17 (complained)"):
    it is written into a new hold's reason.
    """
    findings = stop_conditions.deliverability(deliverability_facts(now=now), RampPolicy.get())
    return stop_conditions.apply([dataclasses.replace(f, reason=f"{f.reason} Raised as {landed} landed.") for f in findings])
