"""Every RQ entry point of outreach, and the cron schedule: nothing else is enqueued.

Jobs are thin and take primary keys only. Each re-fetches its row and lets the
function it calls decide from the row's state whether anything is left to do,
so running a job twice (a duplicate enqueue, a retry, a reconcile) never sends
twice and never imports a chunk twice.

  dispatch_card      queue `dispatch`: send one queued card (outreach.sending.job)
  import_leads       LEAD_IMPORT_QUEUE: a large lead file, chunk by chunk (outreach.leads.imports)
  draft_run          DRAFTING_QUEUE: a drafting run, group by group (outreach.drafting.runs)
  cadence_tick_job   queue `low`, every 15 minutes: draft the steps that fell due (outreach.drafting.cadence)

The scheduler reads the schedule from this module: `manage.py rqcron outreach.jobs`
beside a worker of the `low` queue (exactly one scheduler; RQ requires it).
"""

from __future__ import annotations

import importlib
import logging
import sys

from django.db import close_old_connections, connection
from rq import cron

from outreach.drafting import runs
from outreach.drafting.cadence import cadence_tick
from outreach.leads import imports
from outreach.sending.job import send_card
from outreach.transitions import StateChanged

logger = logging.getLogger(__name__)

# Every 15 minutes: a step falls due at most a quarter of an hour late, and
# the review desk sees follow-ups well before the daily 15:00 review window.
CADENCE_CRON = "*/15 * * * *"


def dispatch_card(card_pk: int) -> str:
    """Send one queued card (see outreach.sending.job.send_card); return the outcome name."""
    # A worker may run many jobs in one process: drop connections the database
    # closed or that outlived CONN_MAX_AGE, as Django does around each request.
    _drop_stale_connections()
    try:
        outcome = send_card(card_pk)
    except StateChanged as exc:
        # Someone else (another job, reconcile, a person) moved the card first:
        # their move stands and this job has nothing left to do.
        logger.warning("Card %s: %s", card_pk, exc)
        return "skipped"
    finally:
        _drop_stale_connections()
    return outcome.outcome


def import_leads(import_id: int) -> str:
    """Import a lead file's rows not yet done (see outreach.leads.imports.run_import); return the final state."""
    return imports.run_import(import_id)


def draft_run(run_id: int) -> str:
    """Draft a run's leads not yet done (see outreach.drafting.runs.run_drafting); return the final state."""
    _drop_stale_connections()
    try:
        return runs.run_drafting(run_id)
    finally:
        _drop_stale_connections()


def cadence_tick_job() -> dict:
    """Run one cadence tick for real and return its summary (kept as the job's result)."""
    report = cadence_tick(apply=True)
    summary = report.as_dict()
    logger.info(
        "cadence tick: %s drafted, %s stopped, %s completed, %s errors",
        summary["drafted"], sum(report.stopped.values()), report.completed, len(report.errors),
    )
    return summary


def _drop_stale_connections() -> None:
    # Inside a transaction (a caller's atomic block, a test) there is nothing to drop.
    if not connection.in_atomic_block:
        close_old_connections()


cron.register(cadence_tick_job, "low", cron=CADENCE_CRON, name="cadence_tick")


# A job in Redis names its function by dotted path, fixed when it was
# enqueued, and a scheduler's command line names its cron module. These are
# the modules that held entry points before they moved here: each old name
# resolves to the module that now has a function of the same name and
# behaviour. Kept while a queued job, a retry, a scheduled (delayed) job or a
# platform's process definition can still name them: drop an entry only one
# release after its move, once `rqinfo` shows no job of that path on any queue
# and no process starts `rqcron` with the old module.
OLD_MODULE_PATHS = {
    "outreach.jobs_cadence": "outreach.jobs",  # cadence_tick_job
    "outreach.cron_cadence": "outreach.jobs",  # `rqcron outreach.cron_cadence`
    "outreach.imports": "outreach.leads.imports",  # run_import
}


def keep_old_module_paths_importable() -> None:
    """Make each old module path import the module that replaced it (called once at start-up)."""
    for old, new in OLD_MODULE_PATHS.items():
        module = sys.modules.setdefault(old, importlib.import_module(new))
        parent, _, name = old.rpartition(".")
        setattr(sys.modules[parent], name, module)
