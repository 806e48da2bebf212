"""What exclusion rules will hit before they are saved: the open cards and the leads.

One rule typed in the admin form, or every new rule of a CSV import together.

Compliance owns the rules but not the leads and cards they hit, and never
imports outreach: outreach registers the function that finds them
(`register_impact_provider`), as it registers ramp's queue facts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# How many cards and leads a preview lists by name; the totals are always given.
LISTED = 100


@dataclass(frozen=True)
class Impact:
    """The open cards and the leads a rule hits, each as a line a person reads, with the totals."""

    cards: list[str] = field(default_factory=list)
    leads: list[str] = field(default_factory=list)
    card_total: int = 0
    lead_total: int = 0
    # How many rules together hit these cards and leads.
    rules: int = 1

    def summary(self) -> str:
        subject = "This rule" if self.rules == 1 else f"These {self.rules} rules"
        return f"{subject} will hit {self.card_total} open card(s) and {self.lead_total} lead(s)."


ImpactProvider = Callable[..., Impact]
_provider: ImpactProvider | None = None


def register_impact_provider(provider: ImpactProvider) -> None:
    global _provider
    _provider = provider


def impact_of(*, email: str | None, domain: str) -> Impact:
    """Return what a rule with these canonical values would hit now."""
    return impact_of_rules([(email, domain)])


def impact_of_rules(rules: Sequence[tuple[str | None, str]]) -> Impact:
    """Return what these rules, each as its canonical (email, domain), would hit together now; each card and lead once."""
    if _provider is None:
        raise RuntimeError("No impact provider is registered: the outreach app is not installed.")
    return _provider(rules=list(dict.fromkeys(rules)))
