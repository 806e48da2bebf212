"""Large lead files: imported by an RQ job, chunk by chunk, while the admin shows the progress.

The admin's confirmation calls `start_import` for a file of more than
LEAD_IMPORT_BACKGROUND_ROWS rows: the file's text goes into a `LeadImport`
row (a worker on another machine reads it there) and `outreach.jobs.import_leads`,
which runs `run_import`, is enqueued on LEAD_IMPORT_QUEUE once that row is committed. The job writes the
rows through `LeadResource`, the resource the preview ran, so a row is
refused in the background exactly as the preview said.

A chunk's new leads are written by one bulk insert, after every row of it
was checked. Exactly once: each chunk of LEAD_IMPORT_CHUNK_ROWS rows is written in one
transaction together with the progress (`rows_done` and the summary), so a
worker killed mid-chunk leaves neither the chunk's leads nor its progress,
and a re-run resumes after the last chunk that committed. A second
confirmation of the same upload finds the same row (`upload_key` is unique)
and enqueues nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Iterable
from typing import NamedTuple

import django_rq
import tablib
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from rq import Retry
from rq.job import JobStatus

from compliance.spreadsheet import ImportFileError, ImportSummary, read_csv
from outreach.models import Lead, LeadImport, LeadImportState
from outreach.leads.resources import LeadResource

logger = logging.getLogger(__name__)

JOB = "outreach.jobs.import_leads"
# Long enough for a large file on a slow database; a job killed by it resumes when run again.
JOB_TIMEOUT_SECONDS = 3600
# When a worker dies mid-job, RQ's registry cleanup (a live worker's maintenance) finds the job abandoned
# and, with retries left, puts it back on the queue: the import resumes after its last committed chunk.
RETRIES_AFTER_A_LOST_WORKER = 3
# RQ job states in which the job will still run or is running: such an import is not stalled.
ALIVE_JOB_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
# Leads per INSERT: under SQLite's and PostgreSQL's limits on the parameters of one statement.
BULK_BATCH = 200


class StoredMeanwhile(Exception):
    """Someone stored a lead or an opt-out of a chunk's mailboxes while the chunk was being checked."""


def runs_in_background(rows: int) -> bool:
    return rows > settings.LEAD_IMPORT_BACKGROUND_ROWS


def job_id_for(import_id: int) -> str:
    return f"lead-import-{import_id}"


def start_import(*, text: str, file_name: str, upload_key: str, rows_total: int, user=None) -> tuple[LeadImport, bool]:
    """Keep a confirmed file and enqueue its import; return the import and whether this call created it.

    A second call with the same `upload_key` (the same upload confirmed twice)
    returns the first import and enqueues nothing.
    """
    with transaction.atomic():
        lead_import, created = LeadImport.objects.get_or_create(
            upload_key=upload_key,
            defaults={
                "created_by": user,
                "file_name": file_name[:255],
                "digest": hashlib.sha256(text.encode()).hexdigest(),
                "content": text,
                "rows_total": rows_total,
            },
        )
        if created:
            transaction.on_commit(lambda: enqueue(lead_import.pk))
    return lead_import, created


def enqueue(import_id: int) -> None:
    """Put the import's job on its queue (again, to resume one whose worker was lost: the job skips what is done)."""
    queue = django_rq.get_queue(settings.LEAD_IMPORT_QUEUE, commit_mode="auto")
    queue.enqueue_call(
        func=JOB, args=(import_id,), job_id=job_id_for(import_id), timeout=JOB_TIMEOUT_SECONDS, retry=Retry(max=RETRIES_AFTER_A_LOST_WORKER)
    )


class Resumed(NamedTuple):
    """What `resume` did: the imports put back on the queue, and those left alone with why."""

    enqueued: list[LeadImport]
    left: list[tuple[LeadImport, str]]


def resume(lead_imports: Iterable[LeadImport]) -> Resumed:
    """Put unfinished imports whose job is gone (retries used up, Redis flushed) back on the queue.

    An import whose job is still queued or running is left alone: it is not
    stalled. Resuming twice is harmless anyway, because each chunk is written
    under the import's row lock and skips the rows already done.
    """
    queue = django_rq.get_queue(settings.LEAD_IMPORT_QUEUE)
    enqueued: list[LeadImport] = []
    left: list[tuple[LeadImport, str]] = []
    for lead_import in lead_imports:
        if lead_import.finished:
            left.append((lead_import, f"already {lead_import.state}"))
            continue
        job = queue.fetch_job(job_id_for(lead_import.pk))
        status = job.get_status(refresh=False) if job is not None else None
        if status in ALIVE_JOB_STATUSES:
            left.append((lead_import, f"its job is {JobStatus(status).value}"))
            continue
        enqueue(lead_import.pk)
        enqueued.append(lead_import)
    return Resumed(enqueued, left)


def run_import(import_id: int) -> str:
    """The job: import the rows not yet done, chunk by chunk; return the final state."""
    lead_import = LeadImport.objects.get(pk=import_id)
    if lead_import.finished:
        return lead_import.state
    LeadImport.objects.filter(pk=import_id).update(state=LeadImportState.RUNNING, started_at=Coalesce("started_at", timezone.now()))
    try:
        dataset = read_csv(lead_import.content)
        resource = LeadResource()
        resource.before_import(dataset)
        rows = list(dataset)
        headers = list(dataset.headers)
        # After a lost worker: the rows already done still make later copies of their addresses duplicates.
        resource.remember_rows([OrderedDict(zip(headers, values)) for values in rows[: lead_import.rows_done]])
        while not _import_chunk_once_more_on_a_race(import_id, resource, headers, rows):
            pass
    except ImportFileError as exc:
        _finish(import_id, LeadImportState.FAILED, str(exc))
        return LeadImportState.FAILED
    except Exception as exc:
        _finish(import_id, LeadImportState.FAILED, f"The import stopped on an unexpected error ({type(exc).__name__}); the rows done so far are kept.")
        raise
    _finish(import_id, LeadImportState.DONE)
    return LeadImportState.DONE


def _import_chunk_once_more_on_a_race(import_id: int, resource: LeadResource, headers: list[str], rows: list) -> bool:
    """Import the next chunk; if a lead or an opt-out of it was stored meanwhile by someone else, read the chunk again once.

    The second reading finds that lead stored and refuses its row as a duplicate, as the preview would have,
    or lets the lead enter suppressed.
    """
    first_rows = dict(resource._first_row_of_email)
    try:
        return _import_next_chunk(import_id, resource, headers, rows)
    except (IntegrityError, StoredMeanwhile):
        resource._first_row_of_email = first_rows
        return _import_next_chunk(import_id, resource, headers, rows)


def _import_next_chunk(import_id: int, resource: LeadResource, headers: list[str], rows: list) -> bool:
    """Write the next chunk and its progress in one transaction; return True when no row is left."""
    with transaction.atomic():
        # Writing first takes SQLite's write lock (PostgreSQL's row lock follows): two runs of one import take turns.
        LeadImport.objects.filter(pk=import_id).update(updated_at=timezone.now())
        lead_import = LeadImport.objects.select_for_update().get(pk=import_id)
        start = lead_import.rows_done
        if lead_import.finished or start >= len(rows):
            return True
        end = min(start + settings.LEAD_IMPORT_CHUNK_ROWS, len(rows))
        chunk = tablib.Dataset(*rows[start:end], headers=headers)
        loader = resource._meta.instance_loader_class(resource, chunk)
        done = ImportSummary()
        resource.deferred_creates = []
        for number, values in enumerate(chunk, start=start + 1):
            row_result = resource.import_row(
                OrderedDict(zip(headers, values)), loader, dry_run=False, using_transactions=True, row_number=number
            )
            done.add_row(number, row_result)
        # The rows were checked against one reading of the chunk's leads and opt-outs, taken at its start:
        # a lead or an opt-out of one of these mailboxes stored since then would be missed.
        if loader.identities.changed_since({lead.email_key for lead in resource.deferred_creates}):
            raise StoredMeanwhile
        Lead.objects.bulk_create(resource.deferred_creates, batch_size=BULK_BATCH)
        resource.deferred_creates = None
        summary = ImportSummary.from_dict(lead_import.summary)
        summary.add(done)
        lead_import.rows_done = end
        lead_import.summary = summary.as_dict()
        lead_import.save(update_fields=["rows_done", "summary", "updated_at"])
        return end >= len(rows)


def _finish(import_id: int, state: str, error: str = "") -> None:
    LeadImport.objects.filter(pk=import_id).exclude(state__in=[LeadImportState.DONE, LeadImportState.FAILED]).update(
        state=state, error=error, finished_at=timezone.now()
    )
