"""Drafting runs: run_pipeline done by an RQ job, group by group, while the admin shows the progress.

Like a background lead import (outreach.leads.imports): the run's row is
written first, the job (outreach.jobs.draft_run) is enqueued once it is
committed, and each group of leads is drafted, checked and saved with the
run's progress. A lead whose drafting failed is not enrolled, so the run
remembers it (its errors) and never picks it again. A model step drafts at
most `concurrency` leads at once; the daily budget stops the run with its
message. A re-run after a lost worker resumes: enrolled leads are skipped.
"""

from __future__ import annotations

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from outreach.drafting.budget import budget_reached
from outreach.drafting.model import ModelDrafter
from outreach.drafting.pipeline import PipelineError, run_pipeline
from outreach.models import Campaign, DraftingRun, LeadImportState

JOB = "outreach.jobs.draft_run"
# Leads a group holds, per request in flight: enough to keep `concurrency` requests busy, small enough to show progress.
GROUP_PER_REQUEST = 4
JOB_TIMEOUT_SECONDS = 6 * 3600


def start_run(*, campaign: Campaign, source: str, limit: int, mode: str = "production", concurrency: int | None = None, user=None) -> DraftingRun:
    """Write the run and enqueue its job once the row is committed."""
    run = DraftingRun.objects.create(
        campaign=campaign, source=source, limit=limit, mode=mode, concurrency=concurrency or settings.MODEL_CONCURRENCY, created_by=user
    )
    transaction.on_commit(lambda: enqueue(run.pk))
    return run


def enqueue(run_id: int) -> None:
    queue = django_rq.get_queue(settings.DRAFTING_QUEUE, commit_mode="auto")
    queue.enqueue_call(func=JOB, args=(run_id,), job_id=f"draft-run-{run_id}", timeout=JOB_TIMEOUT_SECONDS)


def run_drafting(run_id: int) -> str:
    """Draft the run's leads group by group, writing progress after each; return the final state."""
    run = DraftingRun.objects.select_related("campaign").get(pk=run_id)
    if run.finished:
        return run.state
    DraftingRun.objects.filter(pk=run.pk).update(state=LeadImportState.RUNNING, started_at=run.started_at or timezone.now(), leads_total=run.limit)
    drafter = ModelDrafter(concurrency=run.concurrency)
    failed_leads = {error["lead_id"] for error in run.errors}
    group = max(1, run.concurrency * GROUP_PER_REQUEST)
    message = ""
    while run.leads_done < run.limit:
        message = budget_reached() if run.campaign.steps.filter(number=1, drafter="model").exists() else ""
        if message:
            break
        try:
            report = run_pipeline(
                source=run.source, limit=min(group, run.limit - run.leads_done), mode=run.mode, campaign_ref=run.campaign.ref,
                drafter=drafter, apply=True, exclude_lead_ids=failed_leads,
            )
        except PipelineError as exc:
            _finish(run, LeadImportState.FAILED, str(exc))
            return LeadImportState.FAILED
        handled = len(report.drafted) + len(report.errors)
        if handled == 0:
            message = "No eligible lead is left in the source."
            break
        failed_leads |= {error.lead_id for error in report.errors}
        run.leads_done += handled
        run.drafted += len(report.drafted)
        run.errors += [error.__dict__ for error in report.errors]
        DraftingRun.objects.filter(pk=run.pk).update(leads_done=run.leads_done, drafted=run.drafted, errors=run.errors, updated_at=timezone.now())
    _finish(run, LeadImportState.DONE, message)
    return LeadImportState.DONE


def _finish(run: DraftingRun, state: str, message: str) -> None:
    DraftingRun.objects.filter(pk=run.pk).update(state=state, message=message, finished_at=timezone.now())
