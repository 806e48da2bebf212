"""One vocabulary: the named sets of card statuses live on CardStatus, and nothing renames them.

A module that spells its own set of statuses ("open" as pending and approved,
"in flight" as queued, sending and unknown) agrees with CardStatus only until
one of them changes; this test reads every product module's syntax tree and
names each place that does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from outreach.models import CardStatus

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("outreach", "ramp", "compliance", "ghl", "caio")
# The table of allowed moves is a graph over statuses, not a named set; it is the one home of moves.
ALLOWED_HOMES = {("outreach/transitions.py", "ALLOWED")}
STATUS_VALUES = set(CardStatus.values)
NAMED_SETS = ("OPEN", "STOPPABLE", "IN_FLIGHT", "DOUBTFUL", "CONTACTED", "CLAIMED", "SEND_ERROR", "DECIDED", "ENDED_UNSENT", "ROUTE_TO_GHL", "APPROVAL_HELD")


def product_modules():
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _is_status(node: ast.AST, *, strings: bool) -> bool:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id == "CardStatus" and node.attr in CardStatus.names
    return strings and isinstance(node, ast.Constant) and node.value in STATUS_VALUES


def _status_collection(node: ast.AST, *, strings: bool) -> bool:
    """A literal tuple, list or set (or frozenset()/set()/tuple() of one) of two or more card statuses."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"frozenset", "set", "tuple"} and node.args:
        return _status_collection(node.args[0], strings=strings)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) >= 2:
        return all(_is_status(element, strings=strings) for element in node.elts)
    return False


def restated_status_sets(relative: str, source: str) -> list[str]:
    tree = ast.parse(source, filename=relative)
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            for target in getattr(node, "targets", None) or [node.target]:
                name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
                home = relative == "outreach/models.py" and isinstance(target, ast.Attribute) and getattr(target.value, "id", "") == "CardStatus"
                if home or (relative, name) in ALLOWED_HOMES:
                    exempt.update(id(child) for child in ast.walk(node.value))
    found = []
    for node in ast.walk(tree):
        if id(node) in exempt:
            continue
        # Status strings count where they can only mean card statuses: a `status__in=` filter,
        # or a constant whose name says statuses; CardStatus members count everywhere.
        if _status_collection(node, strings=False):
            found.append(f"{relative}:{node.lineno}")
        elif isinstance(node, ast.keyword) and node.arg and node.arg.endswith("status__in") and _status_collection(node.value, strings=True):
            found.append(f"{relative}:{node.value.lineno}")
        elif isinstance(node, ast.Assign) and any("STATUS" in getattr(t, "id", "") for t in node.targets) and _status_collection(node.value, strings=True):
            found.append(f"{relative}:{node.lineno}")
    return found


def test_no_module_spells_its_own_set_of_card_statuses():
    restated = [
        where for path in product_modules() for where in restated_status_sets(path.relative_to(ROOT).as_posix(), path.read_text())
    ]
    assert restated == [], f"use a named set on CardStatus ({', '.join(NAMED_SETS)}) instead of: {restated}"


@pytest.mark.parametrize(
    "source",
    [
        "IN_FLIGHT = (CardStatus.QUEUED, CardStatus.SENDING)",
        "x = PendingEmail.objects.filter(status__in=['pending', 'approved'])",
        "if card.status in {CardStatus.APPROVED, CardStatus.REJECTED}: pass",
        "OPEN_CARD_STATUSES = frozenset(('pending', 'queued'))",
    ],
)
def test_the_scan_finds_a_restated_set(source):
    assert restated_status_sets("outreach/probe.py", source) != []


def test_each_named_set_is_on_card_status_and_means_one_thing():
    for name in NAMED_SETS:
        members = getattr(CardStatus, name)
        assert members and set(members) <= set(CardStatus), name
    assert CardStatus.OPEN < CardStatus.STOPPABLE
    assert CardStatus.DOUBTFUL < CardStatus.IN_FLIGHT < CardStatus.CONTACTED < CardStatus.CLAIMED
    assert not CardStatus.OPEN & CardStatus.IN_FLIGHT


def test_no_module_aliases_card_status_or_a_kind():
    aliases = []
    for path in product_modules():
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Name, ast.Attribute)):
                value = ast.unparse(node.value)
                if value == "CardStatus" or value.endswith(".Kind"):
                    aliases.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.ImportFrom | ast.Import):
                aliases += [f"{path.relative_to(ROOT)}:{node.lineno}" for alias in node.names if alias.asname and len(alias.asname) == 1]
    assert aliases == []
