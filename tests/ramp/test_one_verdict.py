"""One verdict at every level: the stop conditions, the daily report's recommendation and graduation
judge the same window's counts the same way, whatever the graduation level.

The count rules follow the window's volume (`ramp.kpis.count_rule_limit`: 3 bounces
until 60 sends, 2 unsubscribes until 100, a complaint at any volume), never the level.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine

from ramp import report, services, stop_conditions
from ramp.models import RampPolicy
from tests.ramp.helpers import NY, live_day

pytestmark = pytest.mark.django_db

DATE = dt.date(2026, 3, 4)
EVENING = dt.datetime(2026, 3, 4, 17, 45, tzinfo=NY)
LEVELS = range(len(RampPolicy._meta.get_field("cap_steps").get_default()) + 1)

# (window sends, bounces, unsubscribes, complaints) -> the ceilings that hold, by the default policy.
# fmt: off
CASES = [
    ((5,   0, 1, 0), ()),                  # one unsubscribe in 5: a warning (p=0.096)
    ((5,   0, 2, 0), ("unsubscribes",)),    # the second: the count rule (and the test)
    ((25,  0, 2, 0), ("unsubscribes",)),    # level 1's case: p=0.089, the count rule still holds
    ((10,  3, 0, 0), ("bounces",)),         # 3 hard bounces in 10
    ((25,  2, 0, 0), ()),                  # under the bounce count, not shown over 5%
    ((59,  3, 0, 0), ("bounces",)),         # 3 of 59 is over 5%: the count rule's last window size
    ((60,  3, 0, 0), ()),                  # 3 of 60 is 5%, not over: the test decides (p=0.58)
    ((99,  0, 2, 0), ("unsubscribes",)),    # 2 of 99 is over 2%
    ((100, 0, 2, 0), ()),                  # 2 of 100 is 2%: the test decides (p=0.60)
    ((150, 0, 7, 0), ("unsubscribes",)),    # shown over 2% by the test (p=0.032)
    ((150, 12, 0, 0), ()),                 # 8% of 150 but not shown over 5% (p=0.074)
    ((250, 0, 0, 1), ("complaints",)),      # a complaint always holds
    ((250, 0, 11, 1), ("unsubscribes", "complaints")),  # 11 of 250: p=0.014
]
# fmt: on


def facts_for(sent: int, bounces: int, unsubscribes: int, complaints: int) -> stop_conditions.QueueFacts:
    return stop_conditions.QueueFacts(
        sent=sent,
        bounces=bounces,
        unsubscribes=unsubscribes,
        complaints=complaints,
        bounce_evidence=[f"bounce:lead:{n}" for n in range(bounces)],
        unsubscribe_evidence=[f"unsubscribe:lead:{n}" for n in range(unsubscribes)],
        complaint_evidence=[f"complaint:{DATE}:{n}" for n in range(1, complaints + 1)],
    )


def labels(lines: list[str]) -> tuple[str, ...]:
    """The ceilings named by verdict lines ("unsubscribes 2 of 25 sent ..."), in the floors' order."""
    order = ("bounces", "unsubscribes", "complaints")
    named = {line.removeprefix("warning: ").split()[0] for line in lines}
    return tuple(name for name in order if name in named)


@pytest.mark.parametrize(("level", "case"), list(itertools.product(LEVELS, CASES)))
def test_stop_conditions_report_and_graduation_give_one_verdict(level, case):
    counts, expected = case
    RampPolicy.objects.update_or_create(pk=1, defaults={"graduation_level": level, "clean_days_required": 1})
    policy = RampPolicy.get()
    day = live_day(DATE, sent=min(counts[0], 5), decision="")
    facts = facts_for(*counts)

    with time_machine.travel(EVENING, tick=False):
        findings = stop_conditions.evaluate(facts, policy)
        stored = report.daily_report(report.DayActivity(date=DATE, sent=day.sent_count), facts, now=EVENING)
        services.decide(decision="continue", by="pto", date=DATE)
        day.refresh_from_db()
        graduation = services.kpi_problems(day, policy)
        streak_reasons = [r for r in services.graduation_review(today=DATE).reasons if "breaks the streak" in r]

    recommendation = stored["recommended_decision"]
    assert labels([f.reason for f in findings]) == expected
    assert labels(graduation) == expected
    if expected:
        assert recommendation["decision"] == ("hold" if level == 0 else "rollback")
        assert labels(recommendation["reasons"]) == expected
        # The same numbers in all three: the verdict's own line.
        assert [f.reason for f in findings] == recommendation["reasons"][: len(findings)]
        assert [f.reason.removesuffix(", over the last 7 days.") for f in findings] == graduation
        assert len(streak_reasons) == 1 and all(line in streak_reasons[0] for line in graduation)
    else:
        assert recommendation["decision"] == "continue", recommendation
        assert not streak_reasons
