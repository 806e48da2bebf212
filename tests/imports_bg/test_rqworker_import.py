"""Background lead imports run by real `rqworker` processes: a 10,000-row file end to end, and a worker killed mid-file."""

from __future__ import annotations

import signal
import time

import django_rq
import pytest
from django.conf import settings
from django.db.models import Count, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from rq.registry import StartedJobRegistry

from outreach.leads import imports
from outreach.models import Lead, LeadImport
from tests.dispatch.conftest import wait_until
from tests.imports_bg.conftest import import_worker
from tests.imports_bg.helpers import confirm, lead_file, preview, text_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]


def import_state(pk: int) -> tuple[str, int]:
    row = LeadImport.objects.values_list("state", "rows_done").get(pk=pk)
    return row[0], row[1]


def committed_state(pk: int) -> tuple[str, int, int]:
    """The import's state, rows done and the leads stored, read in one statement: one snapshot.

    A worker killed with SIGKILL may have sent its last COMMIT; PostgreSQL still finishes it, so two
    separate reads can fall on either side of that commit and disagree about a consistent database.
    """
    counted = Lead.objects.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk")).values("n")
    row = LeadImport.objects.filter(pk=pk).annotate(leads=Coalesce(Subquery(counted), 0)).values_list("state", "rows_done", "leads").get()
    return row[0], row[1], row[2]


def test_a_10000_row_file_goes_from_upload_to_done_through_a_real_worker(client, hos, spawner):
    client.force_login(hos)
    text = lead_file(10_000, bad_tier_every=2_500)

    answer = confirm(client, preview(client, text))

    lead_import = LeadImport.objects.get()
    progress_page = answer["Location"]
    assert progress_page == reverse("admin:outreach_leadimport_change", args=[lead_import.pk])
    assert "State: queued" in text_of(client.get(progress_page))

    worker = import_worker(spawner)
    wait_until(lambda: import_state(lead_import.pk)[0] == "running" or None, timeout=60, message="the worker to start the import")
    page = text_of(client.get(progress_page))
    assert "State: running" in page and "of 10000 rows done" in page and "back on the queue (up to 3 times)" in page
    wait_until(lambda: import_state(lead_import.pk)[0] == "done", timeout=300, message="the import to finish")

    lead_import.refresh_from_db()
    assert Lead.objects.count() == 9_996
    assert (lead_import.rows_done, lead_import.summary["new"], lead_import.summary["in_error"]) == (10_000, 9_996, 4)
    page = client.get(progress_page)
    assert "http-equiv" not in page.content.decode()
    assert "Import finished: 9996 new leads written; 4 rows with errors were not imported." in text_of(page)
    assert "Job OK" in spawner.output(worker) or "Successfully completed" in spawner.output(worker)


@pytest.mark.postgres
def test_a_worker_killed_mid_file_then_run_again_writes_every_row_exactly_once(client, hos, spawner):
    lead_import, _ = imports.start_import(text=lead_file(3_000), file_name="big.csv", upload_key="killed", rows_total=3_000, user=hos)
    # Small chunks, so the kill lands between two commits with many chunks still to go.
    worker = import_worker(spawner, LEAD_IMPORT_CHUNK_ROWS="25")
    wait_until(lambda: import_state(lead_import.pk)[1] >= 100, timeout=120, message="a few chunks committed")

    spawner.stop(worker, sig=signal.SIGKILL)

    state, done_at_kill, leads_at_kill = committed_state(lead_import.pk)
    assert state == "running" and 100 <= done_at_kill < 3_000
    assert leads_at_kill == done_at_kill, "the leads written are exactly the chunks counted as done"

    # What a live worker's maintenance does once the dead one's job is past its heartbeat: the job is abandoned,
    # and having retries left it goes back on the queue.
    queue = django_rq.get_queue(settings.LEAD_IMPORT_QUEUE)
    assert queue.job_ids == []
    StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + imports.JOB_TIMEOUT_SECONDS + 3600)
    assert queue.job_ids == [imports.job_id_for(lead_import.pk)]
    rerun = import_worker(spawner, burst=True)
    rerun.wait(timeout=300)

    lead_import.refresh_from_db()
    assert lead_import.state == "done", spawner.output(rerun)
    assert Lead.objects.count() == 3_000
    assert (lead_import.rows_done, lead_import.summary["rows_read"], lead_import.summary["new"], lead_import.summary["in_error"]) == (3_000, 3_000, 3_000, 0)
