"""The small JSON API under /api/ (django-ninja: typed schemas and an OpenAPI document)."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from ninja import NinjaAPI, Schema

from caio import redis as caio_redis

api = NinjaAPI(title="CAIO back office API", version="1.0", urls_namespace="api")


class HealthOut(Schema):
    status: str


class ReadyOut(Schema):
    status: str
    database: str
    migrations: str
    redis: str


@api.get("/health", response=HealthOut, auth=None, tags=["status"])
def health(request):
    """Liveness: the process answers."""
    return {"status": "ok"}


@api.get("/ready", response={200: ReadyOut, 503: ReadyOut}, auth=None, tags=["status"])
def ready(request):
    """Readiness: the database answers, migrations are applied and Redis answers."""
    body = {"status": "ready", "database": "ok", "migrations": "ok", "redis": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            body["migrations"] = "unapplied migrations"
    except Exception as exc:  # any database failure means not ready
        body["database"] = f"error: {exc.__class__.__name__}"
    try:
        caio_redis.ping()
    except caio_redis.RedisUnavailable:
        body["redis"] = "unreachable"
    if any(value != "ok" for key, value in body.items() if key != "status"):
        body["status"] = "not ready"
        return 503, body
    return 200, body
