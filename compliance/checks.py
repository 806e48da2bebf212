"""Compliance checks: pure functions over plain values, each returning a Finding.

A finding has a stable id (compliance.C001 style), a short name, pass/fail and
a human reason. `run_all` runs every check and returns the findings in order.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Finding:
    id: str
    name: str
    passed: bool
    reason: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class EmailFacts:
    """What the checks look at; built by outreach from a card and its lead."""

    subject: str
    body: str
    footer: str
    suppression_reason: str = ""
    excluded_domain: str = ""
    opt_out_line: str = "Reply STOP to unsubscribe."
    postal_address: str = ""
    extra: dict = field(default_factory=dict)


PLACEHOLDER_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{\s*[A-Za-z_][\w .]*\}|\[[A-Z][A-Z _]*\]|<[A-Z][A-Z _]*>")


def check_opt_out(facts: EmailFacts) -> Finding:
    ok = facts.opt_out_line.lower() in (facts.footer or "").lower()
    return Finding("compliance.C001", "Opt-out line", ok, "" if ok else f"Footer lacks “{facts.opt_out_line}”.")


def check_footer(facts: EmailFacts) -> Finding:
    ok = bool(facts.footer) and (not facts.postal_address or facts.postal_address in facts.footer)
    return Finding("compliance.C002", "Canonical footer", ok, "" if ok else "Canonical footer with postal address missing.")


def check_placeholders(facts: EmailFacts) -> Finding:
    match = PLACEHOLDER_RE.search(f"{facts.subject}\n{facts.body}")
    ok = match is None
    return Finding("compliance.C003", "No placeholders", ok, "" if ok else f"Unrendered placeholder {match.group(0)!r}.")


def check_suppression(facts: EmailFacts) -> Finding:
    if facts.suppression_reason:
        return Finding("compliance.C004", "Not suppressed", False, f"Lead is suppressed: {facts.suppression_reason}.")
    if facts.excluded_domain:
        return Finding("compliance.C004", "Not suppressed", False, f"Domain {facts.excluded_domain} is excluded.")
    return Finding("compliance.C004", "Not suppressed", True)


CHECKS = [check_opt_out, check_footer, check_placeholders, check_suppression]


def run_all(facts: EmailFacts) -> list[Finding]:
    return [check(facts) for check in CHECKS]
