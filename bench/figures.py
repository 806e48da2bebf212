"""The figures a benchmark reports, printed for people or as one JSON document for `make bench`.

Every bench/ script takes `--json`: its usual text then goes to stderr and
stdout carries only

    {"bench": "webhooks", "figures": [{"name": ..., "value": ..., "unit": ...,
     "target": ..., "met": true}, ...]}

so bench/all builds its table from values, not from scraped text.
"""

from __future__ import annotations

import contextlib
import json
import operator
import sys
from dataclasses import asdict, dataclass

_COMPARE = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "<": operator.lt, ">": operator.gt}


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    # e.g. (">=", 300): the figure meets its target when `value >= 300`; None when there is no target.
    target: tuple[str, float] | None = None

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        comparison, bound = self.target
        return bool(_COMPARE[comparison](self.value, bound))

    def as_dict(self) -> dict:
        data = asdict(self)
        data["target"] = None if self.target is None else f"{self.target[0]} {self.target[1]:g}"
        data["met"] = self.met
        return data


def json_mode(argv: list[str]) -> bool:
    return "--json" in argv


@contextlib.contextmanager
def human_output_to_stderr(enabled: bool):
    """With --json, keep stdout for the JSON document alone."""
    if not enabled:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def emit(bench: str, figures: list[Figure], *, as_json: bool) -> None:
    if as_json:
        json.dump({"bench": bench, "figures": [figure.as_dict() for figure in figures]}, sys.stdout)
        sys.stdout.write("\n")
        sys.stdout.flush()
