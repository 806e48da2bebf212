"""What runs on this instance since its last deploy: the deploy's version, and the runbook's gates run outside
a live cycle (smoke, replay).

- `record_start` stores the running code's version once per deploy (the release
  role and the demo call it at start-up); a restart of the same code adds nothing.
- `record_gate_run` stores each smoke and replay run.
- `smoke_blocker` is the live-cycle gate: the latest smoke of this instance failed.
- `gates_since_deploy` is what graduation asks: a passed replay and a passed
  smoke of this instance since the last deploy.
- `unapplied_migrations` is what readiness, preflight and every role's start
  (`await_migrations`) ask: has the release applied this code's migrations?
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from caio.models import Deployment, GateRun

# The code a version covers: every app's source and the templates.
CODE_DIRS = ("caio", "compliance", "ghl", "outreach", "ramp", "templates")
CODE_SUFFIXES = {".py", ".html", ".js", ".css", ".txt"}


def unapplied_migrations() -> list[str]:
    """Return this code's migrations the database lacks ("app.name", in the order they apply); raise DatabaseError."""
    executor = MigrationExecutor(connection)
    return [f"{migration.app_label}.{migration.name}" for migration, _ in executor.migration_plan(executor.loader.graph.leaf_nodes())]


def code_version() -> str:
    """Return this code's version: CAIO_VERSION when the build set it, else a digest of the source files."""
    if settings.CAIO_VERSION:
        return settings.CAIO_VERSION
    base = Path(settings.BASE_DIR)
    digest = hashlib.sha256()
    for directory in CODE_DIRS:
        for path in sorted((base / directory).rglob("*")):
            if path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts and path.is_file():
                digest.update(str(path.relative_to(base)).encode())
                digest.update(b"\0")
                digest.update(path.read_bytes())
                digest.update(b"\0")
    return f"src-{digest.hexdigest()[:12]}"


def last_deploy() -> Deployment | None:
    return Deployment.objects.order_by("-started_at", "-pk").first()


def record_start(version: str | None = None) -> tuple[Deployment, bool]:
    """Record the version starting now when it differs from the last deploy's; return the deploy in force and whether it is new."""
    version = version or code_version()
    latest = last_deploy()
    if latest is not None and latest.version == version:
        return latest, False
    return Deployment.objects.create(version=version), True


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def is_this_instance(url: str, *, environment: str = "") -> bool:
    """Whether a smoke of `url` (named `environment` in a matrix) checked this instance: its PUBLIC_BASE_URL, or its environment name."""
    if environment and environment == settings.CAIO_ENVIRONMENT:
        return True
    return _origin(url) == _origin(settings.PUBLIC_BASE_URL)


def record_gate_run(kind: str, *, passed: bool, target: str, summary: str, this_instance: bool = True) -> GateRun:
    return GateRun.objects.create(
        kind=kind, passed=passed, target=target[:300], summary=summary, this_instance=this_instance, version=code_version()
    )


def _latest(kind: str, **filters) -> GateRun | None:
    return GateRun.objects.filter(kind=kind, this_instance=True, **filters).order_by("-ran_at", "-pk").first()


def latest_gate_run(kind: str) -> GateRun | None:
    """Return the latest run of `kind` on this instance since the last deploy (any run when none is recorded)."""
    deploy = last_deploy()
    return _latest(kind, **({"ran_at__gte": deploy.started_at} if deploy else {}))


def smoke_blocker() -> str:
    """Return why the last smoke of this instance blocks live cycles ('' when it does not: it passed, or none ran)."""
    last = _latest(GateRun.Kind.SMOKE)
    if last is None or last.passed:
        return ""
    return (
        f"The last smoke of this instance ({last.target}, {last.ran_at:%Y-%m-%d %H:%M} UTC) failed: {last.summary}. "
        "Fix it and run `manage.py smoke` again: no live cycle until a smoke passes."
    )


def gates_since_deploy() -> list[str]:
    """Return what the runbook's "replay + smoke green after the latest deploy" still lacks (empty: both are green)."""
    deploy = last_deploy()
    since = {"ran_at__gte": deploy.started_at} if deploy else {}
    after = f" since the deploy of {deploy.version} ({deploy.started_at:%Y-%m-%d %H:%M} UTC)" if deploy else ""
    problems = []
    for kind, command in ((GateRun.Kind.REPLAY, "manage.py replay"), (GateRun.Kind.SMOKE, "manage.py smoke --base-url URL")):
        last = _latest(kind, **since)
        label = GateRun.Kind(kind).label.lower()
        if last is None:
            problems.append(f"no {label} has run{after} (run `{command}`)")
        elif not last.passed:
            problems.append(f"the last {label}{after} failed ({last.ran_at:%Y-%m-%d %H:%M} UTC): run `{command}` until it passes")
    return problems
