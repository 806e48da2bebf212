"""`bin/test --gate` is the runbook's "critical pytest pack": determinism, dispatch and ramp tests, named in the README."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def gate_pack() -> list[str]:
    script = (ROOT / "bin" / "test").read_text()
    return re.search(r"GATE_PACK=\(\n(.*?)\n\)", script, re.S).group(1).split()


def test_the_pack_names_existing_determinism_dispatch_and_ramp_tests():
    pack = gate_pack()
    assert all((ROOT / path).exists() for path in pack), pack
    assert {"tests/ops/test_replay.py", "tests/dispatch", "tests/ramp"} <= set(pack)


def test_the_readme_maps_the_runbooks_pack_to_it():
    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if "critical pytest pack" in line and line.startswith("|"))
    assert "tests/test_runtime_determinism_flows.py tests/test_operator_ramp_logic.py" in row and "`bin/test --gate`" in row


@pytest.mark.slow
def test_bin_test_gate_runs_the_pack(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SQLITE_TEST_NAME", "DATABASE_URL")}
    done = subprocess.run(
        ["bin/test", "--gate", "--collect-only"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    for path in gate_pack():
        assert any(line.startswith(path) for line in collected), path
    assert not any(line.startswith("tests/browser") for line in collected)
