"""Jobs queued before outreach's entry points moved into `outreach.jobs` still run.

A job in Redis names its function by the dotted path it had when it was
enqueued; a worker started on the new code must still find it. Each case
enqueues by the old path string, exactly as the old code did, and a real
`rqworker` process runs it.
"""

from __future__ import annotations

import django_rq
import pytest
from django.conf import settings

from outreach.leads import imports
from outreach.models import Lead, LeadImport
from tests.imports_bg.conftest import import_worker
from tests.imports_bg.helpers import lead_file

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]


def test_a_lead_import_queued_under_its_old_path_runs_on_a_new_worker(hos, spawner):
    lead_import, _ = imports.start_import(text=lead_file(30), file_name="old.csv", upload_key="old-path", rows_total=30, user=hos)
    queue = django_rq.get_queue(settings.LEAD_IMPORT_QUEUE)
    queue.empty()  # the job the new code enqueued; the old one takes its place
    job = queue.enqueue_call(func="outreach.imports.run_import", args=(lead_import.pk,), job_id=imports.job_id_for(lead_import.pk))

    worker = import_worker(spawner, burst=True)
    worker.wait(timeout=120)

    lead_import.refresh_from_db()
    assert lead_import.state == "done", spawner.output(worker)
    assert Lead.objects.count() == 30
    assert job.func_name == "outreach.imports.run_import"
    assert job.get_status(refresh=True) == "finished", spawner.output(worker)


def test_a_cadence_tick_queued_under_its_old_path_runs_on_a_new_worker(spawner):
    queue = django_rq.get_queue("low")
    job = queue.enqueue_call(func="outreach.jobs_cadence.cadence_tick_job")

    worker = spawner.start("rqworker", "low", "--burst", name="low-worker")
    worker.wait(timeout=120)

    assert job.get_status(refresh=True) == "finished", spawner.output(worker)
    assert job.return_value()["drafted"] == 0


@pytest.mark.parametrize("module", ["outreach.cron_cadence", "outreach.jobs"])
def test_a_scheduler_started_with_either_cron_module_schedules_the_cadence_once(redis_conn, module):
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=redis_conn)
    scheduler.load_config_from_file(module)

    assert [(job.name, job.func_name, job.queue_name, job.cron) for job in scheduler.get_jobs()] == [
        ("cadence_tick", "outreach.jobs.cadence_tick_job", "low", "*/15 * * * *")
    ]
