"""The deployment files: one image, its roles, the platforms' files and the README's table of variables."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
ROLES = {"web", "worker", "scheduler", "release"}
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "caio.example.com",
    "GHL_TOKEN": "pit-production-token",
    "GHL_LOCATION_ID": "loc123",
    "GHL_WEBHOOK_ED25519_PUBLIC_KEY": "8399867e4629f66c6437d94da4d3aead61aaf197ad02dbc4e3b1a44015251b34",
}


def python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k not in ("DATABASE_URL", "SQLITE_TEST_NAME")}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120)


def readme_variables() -> dict[str, list[str]]:
    """Return each variable of the README's deployment table with its cells (web, worker, scheduler, release)."""
    section = (ROOT / "README.md").read_text().split("## Deployment", 1)[1].split("\n## ", 1)[0]
    table = section.split("| variable | web | worker | scheduler | release |", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.strip().splitlines()[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]):
            rows[name] = cells[1:]
    return rows


def test_the_readme_table_names_only_keys_the_settings_read():
    read = set(re.findall(r'config\.\w+\(\s*"([A-Z0-9_]+)"', (ROOT / "caio" / "settings.py").read_text()))
    read_by_role = set(re.findall(r"\$\{(\w+):-", (ROOT / "bin" / "role").read_text()))
    # gunicorn reads its own.
    unknown = set(readme_variables()) - read - read_by_role - {"WEB_CONCURRENCY"}

    assert not unknown


def test_the_readme_table_marks_exactly_the_production_keys_required_for_every_role():
    required = {name for name, cells in readme_variables().items() if cells == ["required"] * 4}
    partly = {name for name, cells in readme_variables().items() if "required" in cells and cells != ["required"] * 4}

    assert required == set(settings.PRODUCTION_REQUIRED) and not partly


def test_it_names_every_missing_production_key_at_once():
    result = python("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='caio.settings'; django.setup()", {"DEBUG": "false"})

    assert result.returncode != 0
    assert (
        "Settings SECRET_KEY, ALLOWED_HOSTS, GHL_TOKEN, GHL_LOCATION_ID, GHL_WEBHOOK_ED25519_PUBLIC_KEY are required but not set"
        in result.stderr
    )


def test_the_image_runs_bin_role_in_exec_form_as_a_non_root_user():
    containerfile = (ROOT / "Containerfile").read_text()

    assert re.search(r'^ARG BASE_IMAGE=docker\.io/library/python:3\.11-slim$', containerfile, re.M)
    assert json.loads(re.search(r"^ENTRYPOINT (.+)$", containerfile, re.M).group(1)) == ["/app/bin/role"]
    assert json.loads(re.search(r"^CMD (.+)$", containerfile, re.M).group(1)) == ["web"]
    user = re.findall(r"^USER (\d+):(\d+)$", containerfile, re.M)
    assert user and all(int(part) > 0 for part in user[-1])


def test_every_role_execs_its_process_and_an_unknown_role_is_refused():
    script = (ROOT / "bin" / "role").read_text()
    cases = dict(re.findall(r"^  (\w+)\)\n(.*?)\n    ;;", script, re.M | re.S))

    assert set(cases) == ROLES | {"manage"}
    for role, body in cases.items():
        body = body.replace("\\\n", " ")
        # The last command of each role replaces the shell, so the platform's SIGTERM reaches it.
        assert body.strip().splitlines()[-1].lstrip().startswith("exec "), role
    refused = subprocess.run([str(ROOT / "bin" / "role"), "nonsense"], capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "usage: bin/role web|worker|scheduler|release, or bin/role manage" in refused.stderr


def test_a_one_off_command_runs_manage_py_with_its_arguments():
    result = subprocess.run(
        [str(ROOT / "bin" / "role"), "manage", "await_migrations", "--help"],
        capture_output=True, text=True, timeout=60,
        # The image's PATH starts with its virtualenv; here, this interpreter's.
        env={**os.environ, "DEBUG": "true", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"},
    )

    assert result.returncode == 0, result.stderr
    assert "usage: manage.py await_migrations" in result.stdout


def test_the_platform_files_start_the_roles_of_bin_role():
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())

    assert procfile == {role: f"bin/role {role}" for role in ROLES}


def railway_config(path: str) -> dict:
    """The deploy section of a Railway config file, by the path the README tells a service to use."""
    row = re.search(rf"^\| \w+ \| `{re.escape(path)}`", (ROOT / "README.md").read_text(), re.M)
    assert row, f"the README's Railway table does not name {path}"
    return json.loads((ROOT / path.lstrip("/")).read_text())["deploy"]


def test_each_railway_service_has_a_config_file_that_starts_its_role():
    # A config file overrides the dashboard: a start command typed there would be ignored.
    web, worker, scheduler = (railway_config(path) for path in ("/railway.json", "/deploy/railway/worker.json", "/deploy/railway/scheduler.json"))
    send_seconds = 2 * (settings.GHL_CONNECT_TIMEOUT + settings.GHL_READ_TIMEOUT)

    assert (web["startCommand"], worker["startCommand"], scheduler["startCommand"]) == (
        "/app/bin/role web", "/app/bin/role worker", "/app/bin/role scheduler",
    )
    # Migrations run once per deploy, from web's deploy; the others wait for them (bin/role).
    assert web["preDeployCommand"] == ["/app/bin/role release"]
    assert "preDeployCommand" not in worker and "preDeployCommand" not in scheduler
    # Only web serves HTTP: a health check on the others would fail every deploy.
    assert web["healthcheckPath"] == "/api/ready"
    assert "healthcheckPath" not in worker and "healthcheckPath" not in scheduler
    # Railway's default is 0 s: a worker needs its send's GHL timeouts (README, "Stopping a worker").
    assert web["drainingSeconds"] >= send_seconds and worker["drainingSeconds"] >= send_seconds
    # Two schedulers side by side would enqueue each tick twice.
    assert scheduler["overlapSeconds"] == 0


def test_every_long_running_role_waits_for_the_release_before_it_starts():
    script = (ROOT / "bin" / "role").read_text()
    cases = dict(re.findall(r"^  (\w+)\)\n(.*?)\n    ;;", script, re.M | re.S))

    for role in ("web", "worker", "scheduler"):
        lines = [line.strip() for line in cases[role].splitlines() if line.strip() and not line.strip().startswith("#")]
        assert "await_release" in lines, role
        assert lines.index("await_release") < next(n for n, line in enumerate(lines) if line.startswith("exec ")), role
    assert "await_release" not in cases["release"]


def test_the_scheduler_role_loads_the_cadence_tick():
    module = re.search(r"^CRON_MODULE=(\S+)$", (ROOT / "bin" / "role").read_text(), re.M).group(1)
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='caio.settings'; django.setup()\n"
        "from django_rq.cron import DjangoCronScheduler\n"
        f"scheduler = DjangoCronScheduler(); scheduler.load_config_from_file({module!r})\n"
        "print(sorted(job.func_name for job in scheduler.get_jobs()))"
    )

    result = python(code, {"DEBUG": "true"})

    assert result.returncode == 0, result.stderr
    assert "outreach.jobs.cadence_tick_job" in result.stdout


def test_the_production_posture_serves_the_admins_static_files(tmp_path):
    code = (
        "import django, os, re; os.environ['DJANGO_SETTINGS_MODULE']='caio.settings'; django.setup()\n"
        "from django.core.management import call_command; call_command('collectstatic', '--no-input', verbosity=0)\n"
        "from django.test import Client; client = Client(SERVER_NAME='caio.example.com')\n"
        "page = client.get('/admin/login/', secure=True).content.decode()\n"
        "href = re.search(r'href=\"(/static/admin/css/base\\.[0-9a-f]+\\.css)\"', page).group(1)\n"
        "css = client.get(href, secure=True)\n"
        "print(href, css.status_code, css['Content-Type'], css.get('Cache-Control'))"
    )

    result = python(code, {**PRODUCTION, "STATIC_ROOT": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})

    assert result.returncode == 0, result.stderr
    # The hashed name, served by the web process itself, cacheable for ever.
    assert ' 200 text/css' in result.stdout and "immutable" in result.stdout
