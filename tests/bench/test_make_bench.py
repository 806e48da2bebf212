"""`make bench` runs every benchmark with --json and prints one table of figures and targets."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def fake_bench(directory: Path, name: str, figures: list[dict] | None, status: int = 0) -> None:
    """Write an executable that answers --json like a real benchmark (or prints no JSON when figures is None)."""
    document = json.dumps({"bench": name, "figures": figures}) if figures is not None else "Traceback: it broke"
    script = directory / name
    script.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import sys
            assert sys.argv[1:] == ["--json"], sys.argv
            print("progress for people", file=sys.stderr)
            print({document!r})
            sys.exit({status})
            """
        )
    )
    script.chmod(0o755)


def run_all(directory: Path, *names: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "all"), "--dir", str(directory), *names], capture_output=True, text=True, timeout=60
    )


def figure(name, value, unit="", target=None, met=None) -> dict:
    return {"name": name, "value": value, "unit": unit, "target": target, "met": met}


def test_it_prints_one_table_and_passes_when_every_target_is_met(tmp_path):
    fake_bench(tmp_path, "webhooks", [figure("sqlite: deliveries per second", 412.5, "/s", ">= 300", True), figure("sqlite: p50 latency", 9.1, "ms")])
    fake_bench(tmp_path, "pipeline", [figure("cards drafted per second", 1200.0, "/s", ">= 1000", True)])
    (tmp_path / "figures.py").write_text("# a module, not a benchmark\n")

    result = run_all(tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["bench", "figure", "value", "target", "met"]
    assert lines[2].split() == ["pipeline", "cards", "drafted", "per", "second", "1,200.0", "/s", ">=", "1000", "yes"]
    assert lines[3].split() == ["webhooks", "sqlite:", "deliveries", "per", "second", "412.5", "/s", ">=", "300", "yes"]
    assert lines[4].split() == ["webhooks", "sqlite:", "p50", "latency", "9.1", "ms", "-", "-"]
    assert lines[-1] == "All targets met."
    assert "progress for people" in result.stderr


def test_it_fails_naming_each_missed_target(tmp_path):
    fake_bench(tmp_path, "webhooks", [figure("sqlite: p99 latency", 180.0, "ms", "< 100", False)], status=1)
    fake_bench(tmp_path, "review_queue", [figure("review queue, full/empty time", 1.4, "x", "<= 2", True)])

    result = run_all(tmp_path)

    assert result.returncode == 1
    assert "NO" in next(line for line in result.stdout.splitlines() if "p99" in line).split()
    assert result.stdout.splitlines()[-1] == "Missed (1): webhooks: sqlite: p99 latency"


def test_a_benchmark_that_gives_no_figures_fails_the_run(tmp_path):
    fake_bench(tmp_path, "dispatch", None, status=1)

    result = run_all(tmp_path)

    assert result.returncode == 1
    assert "(no figures: it stopped early)" in result.stdout
    assert result.stdout.splitlines()[-1] == "Missed (1): dispatch"


def test_it_runs_only_the_named_benchmarks(tmp_path):
    fake_bench(tmp_path, "pipeline", [figure("cards drafted per second", 1200.0, "/s", ">= 1000", True)])
    fake_bench(tmp_path, "dispatch", None, status=1)

    result = run_all(tmp_path, "pipeline")

    assert result.returncode == 0
    assert "dispatch" not in result.stdout
    assert run_all(tmp_path, "nosuch").returncode == 2


@pytest.mark.slow
def test_bench_webhooks_counts_every_delivery_once_over_http():
    # A short real run on SQLite: gunicorn, signed deliveries with repeats, figures as JSON.
    result = subprocess.run(
        [str(ROOT / "bench" / "webhooks"), "--db", "sqlite", "--deliveries", "300", "--json"],
        capture_output=True, text=True, timeout=300,
    )

    figures = {f["name"]: f for f in json.loads(result.stdout)["figures"]}
    assert figures["sqlite: deliveries lost"]["value"] == 0, result.stderr
    assert figures["sqlite: deliveries double-counted"]["value"] == 0
    assert figures["sqlite: answers other than 200"]["value"] == 0
    assert figures["sqlite: deliveries per second"]["value"] > 0
    assert "answered as duplicates          : 60  (expected 60)" in result.stderr
