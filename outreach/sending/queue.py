"""The RQ `dispatch` queue: job ids and enqueuing a card's job.

Jobs are enqueued by the dotted path of `outreach.jobs.dispatch_card`, a
stable name the workers import, so nothing here imports the job body.
"""

from __future__ import annotations

import datetime as dt
import uuid

import django_rq

from caio.redis import redacted_redis_url

QUEUE_NAME = "dispatch"
JOB = "outreach.jobs.dispatch_card"


def job_id_for(card_code: str, *, again: bool = False) -> str:
    """Return the RQ job id of a card's dispatch: its code, plus a fresh suffix for a retry.

    A retry gets its own id because RQ keeps a finished job's id for a while;
    two jobs for one card are harmless (the job claims queued -> sending by
    compare-and-set), so the suffix only keeps them apart in the dashboard.
    """
    return f"dispatch-{card_code}-{uuid.uuid4().hex[:8]}" if again else f"dispatch-{card_code}"


def dispatch_queue():
    """Return the RQ `dispatch` queue, enqueuing at once (callers already wait for commit)."""
    return django_rq.get_queue(QUEUE_NAME, commit_mode="auto")


def enqueue_card(card_pk: int, card_code: str, *, again: bool = False, delay: dt.timedelta | None = None) -> None:
    """Enqueue the dispatch job of one card, now or after `delay`; raises redis.RedisError when Redis refuses."""
    queue = dispatch_queue()
    job_id = job_id_for(card_code, again=again)
    if delay is None:
        queue.enqueue_call(func=JOB, args=(card_pk,), job_id=job_id)
    else:
        queue.enqueue_in(delay, JOB, card_pk, job_id=job_id)


def cards_with_a_job() -> set[str]:
    """Return the codes (hex) of the cards whose dispatch job is still in Redis: waiting, scheduled, running or deferred.

    A job id is `dispatch-<code>` or `dispatch-<code>-<suffix>` (`job_id_for`).
    Finished and failed jobs do not count: they will not run again. Read only
    (no registry clean-up), so a dry-run reconcile changes nothing in Redis.
    """
    queue = dispatch_queue()
    ids = list(queue.get_job_ids())
    for registry in (queue.scheduled_job_registry, queue.started_job_registry, queue.deferred_job_registry):
        ids.extend(registry.get_job_ids(cleanup=False))
    prefix = "dispatch-"
    return {job_id[len(prefix) :].split("-", 1)[0] for job_id in ids if job_id.startswith(prefix)}


def redis_error(exc: Exception) -> str:
    """Return a Redis failure as one line, with the URL's password masked."""
    return f"Redis is not reachable at REDIS_URL={redacted_redis_url()}: {exc.__class__.__name__}"
