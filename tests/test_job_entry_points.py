"""Every RQ entry point is in outreach/jobs.py: what is enqueued, scheduled or named as a job lives there.

A job names its function by dotted path in Redis; one module of entry points
keeps those paths few and stable (old ones are aliased, see
`outreach.jobs.OLD_MODULE_PATHS`). The scan reads product code's syntax trees:
any dotted path handed to an enqueue call or kept as a job constant, and any
cron registration.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from outreach import jobs

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("outreach", "ramp", "compliance", "ghl", "caio")
ENQUEUERS = {"enqueue", "enqueue_call", "enqueue_in", "enqueue_at", "register"}


def job_paths_and_registrations() -> tuple[list[tuple[str, str]], list[str]]:
    """Return (where, dotted path) for each job path in product code, and where each cron registration is."""
    paths, registrations = [], []
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            relative = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text())):
                where = f"{relative}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "JOB" for t in node.targets):
                    paths.append((where, ast.literal_eval(node.value)))
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ENQUEUERS:
                    if node.func.attr == "register" and getattr(node.func.value, "id", "") == "cron":
                        registrations.append(relative)
                    for argument in [*node.args[:1], *(k.value for k in node.keywords if k.arg == "func")]:
                        if isinstance(argument, ast.Constant) and isinstance(argument.value, str) and "." in argument.value:
                            paths.append((where, argument.value))
    return paths, registrations


def test_every_job_path_names_a_function_of_outreach_jobs():
    paths, _ = job_paths_and_registrations()
    assert paths, "the scan found no job path at all"
    elsewhere = [(where, path) for where, path in paths if path.rpartition(".")[0] != "outreach.jobs"]
    assert elsewhere == []
    for where, path in paths:
        assert callable(getattr(jobs, path.rpartition(".")[2], None)), f"{where}: {path} is not in outreach.jobs"


def test_the_cron_schedule_is_registered_only_in_outreach_jobs():
    _, registrations = job_paths_and_registrations()
    assert registrations == ["outreach/jobs.py"]


def test_each_old_module_path_still_finds_its_function():
    jobs.keep_old_module_paths_importable()
    for old, new in jobs.OLD_MODULE_PATHS.items():
        assert importlib.import_module(old) is importlib.import_module(new)
