"""The cadence tick as an RQ job, run on a schedule by RQ's cron scheduler.

Start the scheduler with `manage.py rqcron outreach.cron_cadence` beside a
worker of the `low` queue. The job takes no arguments and is idempotent: two
ticks at once draft each step once (see outreach.cadence).
"""

from __future__ import annotations

import logging

from outreach.cadence import cadence_tick

logger = logging.getLogger(__name__)


def cadence_tick_job() -> dict:
    """Run one cadence tick for real and return its summary (kept as the job's result)."""
    report = cadence_tick(apply=True)
    summary = report.as_dict()
    logger.info(
        "cadence tick: %s drafted, %s stopped, %s completed, %s errors",
        summary["drafted"], sum(report.stopped.values()), report.completed, len(report.errors),
    )
    return summary
