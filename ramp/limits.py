"""How many sends the ramp allows, and to whom: daily cap, tier_2 canary slice, per-company cap.

Pure functions over plain values, so the dispatch claim, the replay harness and
the tests all apply the same arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ramp.models import RampPolicy

CANARY_TIER = "tier_2"
# The reason plan_claims gives when the day's budget is spent; callers may word it their way.
CAP_REACHED = "today's cap is reached"


def effective_cap(day_cap: int, policy: RampPolicy) -> int:
    """Return the cap a claim may use today: the day's own cap, never above the cap of the policy's graduation level now.

    A day row keeps the cap it was created with; a narrower policy (or a rollback)
    must hold at once, and a day's cap written wider by hand must not.
    """
    return min(day_cap, policy.current_cap())


def tier_caps(policy: RampPolicy) -> dict[str, int]:
    """Return the most sends a day for each sendable tier.

    1. Still ramping (level 0): only the allowed tiers, sharing the whole cap.
    2. After a graduation: tier_2 also gets a canary slice of the cap
       (its share, rounded down, at least 1 while the share is above zero);
       the allowed tiers keep the whole cap between them.
    """
    cap = policy.current_cap()
    caps = {tier: cap for tier in policy.allowed_tiers}
    share = float(policy.tier2_canary_share or 0)
    if policy.graduation_level > 0 and share > 0 and CANARY_TIER not in caps:
        caps[CANARY_TIER] = min(cap, max(1, math.floor(cap * share)))
    return caps


def sendable_tiers(policy: RampPolicy) -> list[str]:
    """Return every tier that may be sent today.

    Two words, two meanings: the policy's `allowed_tiers` are the tiers the
    ramp sends at its full cap; the *sendable* tiers are those plus tier_2
    once a graduation gives it a canary share. Eligibility, drafting and the
    claim all ask for the sendable ones.
    """
    return list(tier_caps(policy))


@dataclass(frozen=True)
class Candidate:
    """An approved card as the ramp sees it: an id, the lead's tier and company domain."""

    key: int | str
    tier: str
    domain: str


@dataclass
class ClaimPlan:
    selected: list[Candidate] = field(default_factory=list)
    skipped: list[tuple[Candidate, str]] = field(default_factory=list)


def plan_claims(
    candidates: list[Candidate],
    *,
    remaining: int,
    per_company_cap: int,
    tier_caps: dict[str, int],
    sent_by_domain: dict[str, int] | None = None,
    sent_by_tier: dict[str, int] | None = None,
) -> ClaimPlan:
    """Choose, in order, the candidates the ramp allows today; say why each other one waits.

    `sent_by_domain` and `sent_by_tier` are today's claims so far (queued, sending
    or sent), so a second cycle in the same day continues the same budget.
    """
    by_domain = dict(sent_by_domain or {})
    by_tier = dict(sent_by_tier or {})
    plan = ClaimPlan()
    for candidate in candidates:
        domain = candidate.domain.lower()
        if len(plan.selected) >= remaining:
            plan.skipped.append((candidate, CAP_REACHED))
        elif candidate.tier not in tier_caps:
            plan.skipped.append((candidate, f"{candidate.tier} is not sendable at this ramp level"))
        elif by_tier.get(candidate.tier, 0) >= tier_caps[candidate.tier]:
            plan.skipped.append((candidate, f"the {candidate.tier} share ({tier_caps[candidate.tier]}/day) is used"))
        elif by_domain.get(domain, 0) >= per_company_cap:
            plan.skipped.append((candidate, f"{domain} already has {per_company_cap} send(s) today (per-company cap)"))
        else:
            plan.selected.append(candidate)
            by_domain[domain] = by_domain.get(domain, 0) + 1
            by_tier[candidate.tier] = by_tier.get(candidate.tier, 0) + 1
    return plan
