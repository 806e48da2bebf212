"""django-rq's `rqworker`, which first checks that Redis answers.

Without the check a worker started while Redis is down dies with a long
traceback; operators get one line naming REDIS_URL instead.
"""

from __future__ import annotations

import importlib
import sys

from django.conf import settings
from django_rq.management.commands.rqworker import Command as RqWorkerCommand

from caio.redis import RedisUnavailable, require_redis

# Imported once when the worker starts, not again for every job.
PRELOADED_JOB_MODULES = ("outreach.jobs",)
# Dispatch jobs are short, I/O-bound and idempotent: running them in the worker
# process (no fork per job) cuts each job from ~300 ms to ~75 ms, which is what
# lets two workers use GHL's whole rate window (see bench/dispatch). A worker
# that dies mid-job leaves its card `sending`, which reconcile settles.
DISPATCH_WORKER_CLASS = "rq.worker.SimpleWorker"


class Command(RqWorkerCommand):
    help = (
        "Run RQ workers on the named queues (e.g. `rqworker dispatch --with-scheduler`). "
        "Stops with one clear line when Redis is not reachable at REDIS_URL. A worker of the "
        "dispatch queue alone runs its jobs in-process (rq.worker.SimpleWorker) unless "
        "--worker-class says otherwise."
    )

    def handle(self, *args, **options):
        try:
            require_redis()
        except RedisUnavailable as exc:
            self.stderr.write(str(exc))
            sys.exit(1)
        for module in PRELOADED_JOB_MODULES:
            importlib.import_module(module)
        if list(args) == ["dispatch"] and not options.get("worker_class") and "WORKER_CLASS" not in getattr(settings, "RQ", {}):
            options["worker_class"] = DISPATCH_WORKER_CLASS
        return super().handle(*args, **options)
