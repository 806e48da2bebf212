"""KPI arithmetic and the policy's KPI floors: the one home the daily report, the stop
conditions and graduation all read.

Everything here works on plain counts. A rate is compared exactly (as a
fraction against the policy's decimal), so two readers of the same counts can
never disagree by a rounding step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal


@dataclass(frozen=True)
class KpiCounts:
    """What was sent over a period and what came back from it.

    `complaints`, `opens` and `meetings` may be None: neither GHL's events nor
    the operator recorded them. A missing complaint count breaks no floor.
    """

    sent: int
    replies: int = 0
    bounces: int = 0
    unsubscribes: int = 0
    complaints: int | None = None
    opens: int | None = None
    meetings: int | None = None

    @classmethod
    def from_stored(cls, stored: dict) -> KpiCounts | None:
        """Read the counts a RampDay keeps in `kpis` (None when the day has no report)."""
        if stored.get("sent") is None:
            return None
        values = {name: stored.get(name) for name in _FIELDS}
        return cls(**{name: 0 if value is None and name in _ALWAYS_COUNTED else value for name, value in values.items()})

    def as_stored(self) -> dict:
        return {name: getattr(self, name) for name in _FIELDS}

    def figure(self, count_name: str, *, over: str = "") -> str:
        """One KPI written with its count, its denominator and its rate, so no two readers disagree on what 50% means."""
        count = getattr(self, count_name)
        if count is None:
            return f"{count_name} not recorded"
        shown = rate(count, self.sent)
        percent_text = "-" if shown is None else f"{shown:.1%}"
        return f"{count_name} {count} of {self.sent} sent{over} ({percent_text})"

    def rates(self) -> dict[str, float | None]:
        """The rates the report shows (rounded for reading; floors use the exact fraction)."""
        return {
            "open_rate": rate(self.opens, self.sent),
            "reply_rate": rate(self.replies, self.sent),
            "bounce_rate": rate(self.bounces, self.sent),
            "unsubscribe_rate": rate(self.unsubscribes, self.sent),
            "complaint_rate": rate(self.complaints or 0, self.sent),
        }


_FIELDS = ("sent", "opens", "replies", "bounces", "unsubscribes", "complaints", "meetings")
_ALWAYS_COUNTED = ("sent", "replies", "bounces", "unsubscribes")


def rate(count: int | None, sent: int) -> float | None:
    """Return count/sent rounded to 4 places; None when nothing was sent or the count is unknown."""
    if not sent or count is None:
        return None
    return round(count / sent, 4)


@dataclass(frozen=True)
class Floor:
    """One KPI limit of the ramp policy.

    `kind` "max": the rate must not exceed the limit (a deliverability stop
    condition); "min": the rate must not fall under it.
    """

    key: str
    label: str
    count: str
    policy_field: str
    kind: Literal["max", "min"]
    # A ceiling whose count rule holds at any volume (a complaint always holds);
    # the others' count rules give way to the test as the window fills (`count_rule_limit`).
    counts_at_any_volume: bool = False

    @property
    def stops_sending(self) -> bool:
        return self.kind == "max"


FLOORS: tuple[Floor, ...] = (
    Floor("bounce_rate", "bounce", "bounces", "max_bounce_rate", "max"),
    Floor("unsubscribe_rate", "unsubscribe", "unsubscribes", "max_unsubscribe_rate", "max"),
    Floor("complaint_rate", "complaint", "complaints", "max_complaint_rate", "max", counts_at_any_volume=True),
    Floor("reply_rate", "reply", "replies", "min_reply_rate", "min"),
)


@dataclass(frozen=True)
class Breach:
    """A floor the counts break, with the numbers that break it."""

    floor: Floor
    count: int
    sent: int
    limit: Decimal

    @property
    def rate(self) -> float:
        return self.count / self.sent

    def as_line(self) -> str:
        side = "over" if self.floor.kind == "max" else "under the floor"
        return f"{self.floor.label} rate {self.rate:.1%} ({self.count} of {self.sent} sent) {side} {percent(self.limit)}"


def percent(limit: Decimal) -> str:
    """A policy limit as a percentage with every digit it has (0.0499 is 4.99%, not a rounded 5.0%)."""
    text = f"{Decimal(limit) * 100:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def breaches(counts: KpiCounts, limits: dict[str, Decimal], *, floors: tuple[Floor, ...] = FLOORS) -> list[Breach]:
    """Return every floor in `floors` the counts break; `limits` maps a floor's policy field to its value.

    Nothing sent breaks nothing: there is no rate to judge.
    """
    if not counts.sent:
        return []
    found = []
    for floor in floors:
        count = getattr(counts, floor.count) or 0
        limit = Decimal(limits[floor.policy_field])
        observed = Fraction(count, counts.sent)
        broken = observed > Fraction(limit) if floor.kind == "max" else observed < Fraction(limit)
        if broken:
            found.append(Breach(floor, count, counts.sent, limit))
    return found


# --- stop conditions: is the rate over its ceiling, or only unlucky? -------------


def binomial_tail(count: int, sent: int, limit: Decimal) -> Fraction:
    """Return P(X >= count) for X ~ Binomial(sent, limit), exactly.

    The chance of seeing `count` or more events in `sent` sends if the true
    rate were exactly the ceiling: when it is small, the rate is over it.
    """
    if count <= 0:
        return Fraction(1)
    p = Fraction(Decimal(limit))
    below = sum(Fraction(math.comb(sent, k)) * p**k * (1 - p) ** (sent - k) for k in range(count))
    return 1 - below


@dataclass(frozen=True)
class StopVerdict:
    """How one deliverability ceiling judges a window's counts, with the numbers and the test."""

    floor: Floor
    count: int
    sent: int
    limit: Decimal
    confidence: Decimal
    hold_count: int
    p_value: float

    @property
    def over_by_test(self) -> bool:
        return self.count > 0 and self.p_value <= float(1 - self.confidence)

    @property
    def count_rule_in_force(self) -> bool:
        if self.floor.counts_at_any_volume:
            return self.hold_count > 0
        return count_rule_in_force(self.hold_count, self.sent, self.limit)

    @property
    def count_rule_cutoff(self) -> int | None:
        return None if self.floor.counts_at_any_volume else count_rule_limit(self.hold_count, self.limit)

    @property
    def over_by_count(self) -> bool:
        return self.count_rule_in_force and self.count >= self.hold_count

    @property
    def holds(self) -> bool:
        return self.over_by_test or self.over_by_count

    @property
    def warns(self) -> bool:
        """Something came back but not enough to hold: shown, not stopped."""
        return self.count > 0 and not self.holds

    def as_line(self) -> str:
        """The numbers and the test, written the same beside every hold and warning."""
        observed = f"{self.count / self.sent:.1%}" if self.sent else "-"
        if not self.hold_count:
            count_rule = "no count rule"
        elif self.count_rule_in_force:
            count_rule = f"hold at {self.hold_count}"
        else:
            count_rule = f"count rule off from {self.count_rule_cutoff} sends in the window"
        if self.over_by_count:
            verdict = f"count {self.count} reaches the policy's {count_rule}"
        elif self.over_by_test:
            verdict = f"over at {percent(self.confidence)} confidence"
        else:
            verdict = f"not shown over at {percent(self.confidence)} confidence; {count_rule}"
        return (
            f"{self.floor.label}s {self.count} of {self.sent} sent ({observed}) against a ceiling of {percent(self.limit)}: "
            f"one-sided exact binomial p={self.p_value:.3f}, {verdict}"
        )


    def rule_line(self) -> str:
        """The ceiling's settings as it judges now (its limit, confidence and count rule), from the policy's values."""
        if not self.hold_count:
            count_rule = "no count rule"
        elif self.count_rule_cutoff is None:
            count_rule = f"or when {self.floor.count} in the window reach {self.hold_count}, at any volume"
        else:
            count_rule = f"or when {self.floor.count} in the window reach {self.hold_count} while it holds fewer than {self.count_rule_cutoff} sends"
        return (
            f"{self.floor.label}s: ceiling {percent(self.limit)}; holds when the window shows the rate over it at "
            f"{percent(self.confidence)} confidence (one-sided exact binomial), {count_rule}"
        )


def count_rule_limit(hold_count: int, limit: Decimal) -> int | None:
    """The window size from which a ceiling's count rule stops holding: hold_count / limit sends (None: never).

    Below it, reaching `hold_count` events already means an observed rate over
    the ceiling (hold_count / sent > limit), so the count rule only stops what
    the window itself shows over, while there are too few sends for the exact
    test to show it at the policy's confidence. From it on, `hold_count` events
    would be a rate at or under the ceiling, and the test alone decides.
    With the default policy: bounces 3 / 5% = 60 sends, unsubscribes 2 / 2% =
    100 sends (complaints are counted at any volume: `Floor.counts_at_any_volume`). At 10 a day a 7-day window
    holds at most 50 sends, so the count rules stay in force through level 1;
    at 20 and 40 a day the bounce and unsubscribe tests take over as the window
    fills (e.g. 2 unsubscribes in 25 sends: p=0.089, held by the count rule;
    in 150: p=0.80, not held).
    """
    if hold_count <= 0 or Decimal(limit) <= 0:
        return None
    return math.ceil(Fraction(hold_count) / Fraction(Decimal(limit)))


def count_rule_in_force(hold_count: int, sent: int, limit: Decimal) -> bool:
    """Whether the ceiling's count rule holds for a window of `sent` sends (see `count_rule_limit`)."""
    if hold_count <= 0:
        return False
    cutoff = count_rule_limit(hold_count, limit)
    return cutoff is None or sent < cutoff


STOP_COUNT_FIELDS = {"bounces": "bounce_hold_count", "unsubscribes": "unsubscribe_hold_count", "complaints": "complaint_hold_count"}


def stop_verdicts(counts: KpiCounts, settings: dict) -> list[StopVerdict]:
    """Judge each deliverability ceiling over a window's counts.

    `settings` maps the policy's fields (the ceilings, `stop_confidence` and
    the `*_hold_count` fields) to their values. A count rule holds even with
    nothing sent in the window (a complaint is a complaint), and stays in force
    at every graduation level until the window holds `count_rule_limit` sends.
    """
    confidence = Decimal(settings["stop_confidence"])
    found = []
    for floor in FLOORS:
        if not floor.stops_sending:
            continue
        count = getattr(counts, floor.count) or 0
        limit = Decimal(settings[floor.policy_field])
        p_value = float(binomial_tail(count, counts.sent, limit)) if counts.sent else 1.0
        found.append(StopVerdict(floor, count, counts.sent, limit, confidence, int(settings[STOP_COUNT_FIELDS[floor.count]]), p_value))
    return found
