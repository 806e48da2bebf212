"""RQ cron configuration for the cadence: `manage.py rqcron outreach.cron_cadence`."""

from __future__ import annotations

from rq import cron

from outreach.jobs_cadence import cadence_tick_job

# Every 15 minutes: a step falls due at most a quarter of an hour late, and
# the review desk sees follow-ups well before the daily 15:00 review window.
CADENCE_CRON = "*/15 * * * *"

cron.register(cadence_tick_job, "low", cron=CADENCE_CRON, name="cadence_tick")
