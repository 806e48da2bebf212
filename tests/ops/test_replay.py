from __future__ import annotations

import ast
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from compliance import checks
from outreach.models import CardStatus, PendingEmail
from outreach.reports.replay import DEFAULT_CASES_DIR, migrated_template
from ramp.models import Hold, RampPolicy
from tests.factories import make_card, make_lead

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def replay(*args) -> str:
    out = StringIO()
    try:
        call_command("replay", *args, stdout=out)
    except CommandError as exc:
        out.write(f"\nCommandError: {exc}")
    return out.getvalue()


def test_the_shipped_cases_pass_at_one_and_cover_the_stop_conditions():
    names = {path.stem.split("_", 1)[1] for path in DEFAULT_CASES_DIR.glob("*.json")}
    assert len(names) >= 20
    assert {"hold_blocks_send", "stale_card_refused", "classifier_mismatch", "cap_reached", "per_company_cap",
            "graduation_refused", "graduation_allowed", "lead_reappearing", "bounce_spike", "placeholder_body",
            "missing_opt_out", "header_injection_subject", "window_closed", "missing_decision"} <= names
    text = replay("--min-pass-rate", "1.0")
    assert "CommandError" not in text, text
    assert f"Pass rate 1.00 ({len(names)}/{len(names)})" in text


def test_replay_leaves_the_database_as_it_was():
    card = make_card()
    Hold.objects.create(reason="real hold")
    replay()
    assert list(PendingEmail.objects.values_list("pk", flat=True)) == [card.pk]
    assert Hold.objects.get().reason == "real hold"
    assert RampPolicy.get().graduation_level == 0


def test_a_broken_window_rule_fails_below_the_rate(monkeypatch):
    # It should notice when the sending window stops being enforced.
    monkeypatch.setattr("ramp.gates.in_window", lambda policy, now=None: True)
    text = replay("--min-pass-rate", "0.99")
    assert "FAIL 020_window_closed.json" in text
    assert "CommandError: Replay pass rate 0.97 is below 0.99" in text


def test_broken_stop_conditions_and_checks_fail_their_cases(monkeypatch):
    monkeypatch.setattr("ramp.stop_conditions.deliverability", lambda facts, policy: [])
    monkeypatch.setattr(checks, "CHECKS", [c for c in checks.CHECKS if c.__name__ != "check_placeholders"])
    text = replay()
    assert "FAIL 014_bounce_spike.json" in text and "FAIL 017_placeholder_body.json" in text
    assert "CommandError: Replay pass rate" in text


def test_record_captures_a_day_that_replays_green(tmp_path):
    make_card(status=CardStatus.APPROVED)
    make_card(lead=make_lead(tier="tier_3"))
    out = StringIO()
    call_command("replay", "--record", "--date", "today", "--cases", str(tmp_path), "--name", "today", stdout=out)
    case = json.loads((tmp_path / "today.json").read_text())
    assert len(case["cards"]) == 2 and case["expect"]["classifier"]
    text = replay("--cases", str(tmp_path), "--min-pass-rate", "1.0")
    assert "PASS today.json" in text and "CommandError" not in text
    with pytest.raises(CommandError, match="already exists"):
        call_command("replay", "--record", "--date", "today", "--cases", str(tmp_path), "--name", "today", stdout=StringIO())


def test_a_malformed_case_is_named(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CommandError, match="bad.json: not valid JSON"):
        call_command("replay", "--cases", str(tmp_path), stdout=StringIO())
    (tmp_path / "bad.json").write_text('{"name": "x"}')
    with pytest.raises(CommandError, match="bad.json: missing the 'now' key"):
        call_command("replay", "--cases", str(tmp_path), stdout=StringIO())
    with pytest.raises(CommandError, match="No case directory"):
        call_command("replay", "--cases", str(tmp_path / "missing"), stdout=StringIO())


@pytest.mark.slow
def _rows_besides_the_gate_runs(database: Path) -> list[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return [line for line in connection.iterdump() if "caio_gaterun" not in line]


def test_replay_writes_only_its_own_record_into_the_live_database(tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{live / 'db.sqlite3'}"}

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    # An empty migrated database (the one the harness copies: migrating again would only cost seconds), then a
    # real hold written into it by the real command.
    shutil.copyfile(migrated_template(), live / "db.sqlite3")
    # A hold names a real user who may raise it.
    make_operator = (
        "from django.contrib.auth.models import Group, User; "
        "User.objects.create_user('pto').groups.add(Group.objects.get(name='Operator'))"
    )
    assert manage("shell", "-c", make_operator).returncode == 0
    assert manage("ramp", "hold", "--reason", "a real hold", "--by", "pto").returncode == 0
    before = _rows_besides_the_gate_runs(live / "db.sqlite3")

    result = manage("replay", "--min-pass-rate", "1.0")

    assert result.returncode == 0, result.stdout + result.stderr
    cases = len(list(DEFAULT_CASES_DIR.glob("*.json")))
    assert f"Pass rate 1.00 ({cases}/{cases})" in result.stdout
    # The live database was read (its hold is shown first); the run's record is all it gained.
    assert "a real hold" in result.stdout.splitlines()[1]
    assert _rows_besides_the_gate_runs(live / "db.sqlite3") == before
    with sqlite3.connect(f"file:{live / 'db.sqlite3'}?mode=ro", uri=True) as connection:
        assert connection.execute("SELECT kind, passed, this_instance FROM caio_gaterun").fetchall() == [("replay", 1, 1)]


def _project_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_harness_and_everything_of_ours_it_imports_use_no_mocking_library():
    mocking = ("unittest.mock", "mock", "pytest_mock", "responses", "requests_mock", "respx")
    seen: set[Path] = set()
    todo = [ROOT / "outreach" / "reports" / "replay.py", ROOT / "outreach" / "management" / "commands" / "replay.py"]
    offenders = []
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _project_imports(path):
            if name in mocking or name.startswith(tuple(f"{m}." for m in mocking)):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
            candidate = ROOT.joinpath(*name.split("."))
            for module in (candidate.with_suffix(".py"), candidate / "__init__.py"):
                if module.is_file():
                    todo.append(module)
    assert offenders == []
    # The walk reached the rules it drives, so "no offender" means something.
    assert {ROOT / "ramp" / "preflight.py", ROOT / "outreach" / "sending" / "select.py", ROOT / "ghl" / "sandbox" / "testing.py"} <= seen
