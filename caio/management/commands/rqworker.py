"""django-rq's `rqworker`, which first checks that Redis answers.

Without the check a worker started while Redis is down dies with a long
traceback; operators get one line naming REDIS_URL instead.
"""

from __future__ import annotations

import sys

from django_rq.management.commands.rqworker import Command as RqWorkerCommand

from caio.redis import RedisUnavailable, require_redis


class Command(RqWorkerCommand):
    help = (
        "Run RQ workers on the named queues (e.g. `rqworker dispatch --with-scheduler`). "
        "Stops with one clear line when Redis is not reachable at REDIS_URL."
    )

    def handle(self, *args, **options):
        try:
            require_redis()
        except RedisUnavailable as exc:
            self.stderr.write(str(exc))
            sys.exit(1)
        return super().handle(*args, **options)
