"""The shadow lane: a candidate prompt version earns its promotion on past leads, never sending anything.

1. `frozen_set(step)`: a stratified set of the step's past model cards
   (per status the desk left them in: up to CASES_PER_STRATUM of each,
   oldest first), so each run of a candidate sees the same leads.
2. `run_shadow(candidate)`: drafts each case's lead with the version in use
   and with the candidate, with the same inputs (the lead and the facts as
   they are); the outputs are recorded on ShadowPair rows, so a rerun reads
   them back and never asks the model again (deterministic).
3. Hard gates, zero tolerance: every candidate draft must pass the output
   contract and every compliance check on its text; one drafting error fails
   the gates.
4. Blind pairs on the desk: the Head of Sales sees both drafts for one lead,
   left and right drawn per pair, without knowing which version wrote which,
   and picks one or rejects both with a tag.
5. `promote(candidate)`: refused unless the gates pass, every pair is
   decided, the candidate wins or ties (both rejected) at least half the
   pairs, and no candidate draft was rejected with a factual-risk tag. The
   evidence is stored on the version whether refused or granted.
Rollback is outreach.drafting.prompts.rollback: one step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from compliance.checks import text_failures
from outreach.drafting import prompts
from outreach.drafting.learning import FACTUAL_RISK_TAGS
from outreach.drafting.model import ModelDrafter
from outreach.drafting.drafters import DraftingError
from outreach.models import CardStatus, Lead, PendingEmail, PromptVersion, RejectionTag, ShadowPair

CASES_PER_STRATUM = 4



class PromotionRefused(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def frozen_set(step) -> list[tuple[str, Lead]]:
    """Return the stratified cases of `step`: (case name, lead), the same on every run."""
    cases = []
    # Each status the step's cards are in (what the desk did with them) is a stratum, so a set never holds
    # only the easy cases; in the order of the statuses' definition, so every run sees the same set.
    present = set(PendingEmail.objects.filter(step=step, is_shadow=False).values_list("status", flat=True).distinct())
    for stratum in [status for status in CardStatus.values if status in present]:
        cards = (
            PendingEmail.objects.filter(step=step, status=stratum, is_shadow=False)
            .exclude(rejection_tag__system=True)
            .select_related("lead")
            .order_by("created_at", "pk")[:CASES_PER_STRATUM]
        )
        cases += [(f"{stratum}-card-{card.pk}", card.lead) for card in cards]
    return cases


def _as_json(draft) -> dict:
    if isinstance(draft, DraftingError):
        return {"error": str(draft)}
    return {"subject": draft.subject, "body": draft.body, "claims": list(draft.claims)}


def run_shadow(candidate: PromptVersion) -> list[ShadowPair]:
    """Draft the frozen set with the version in use and the candidate; record both (once: reruns read them back)."""
    existing = list(candidate.pairs.order_by("pk"))
    if existing:
        return existing
    step = candidate.step
    baseline = prompts.current_version(step)
    cases = frozen_set(step)
    leads = [lead for _, lead in cases]
    baseline_drafts = ModelDrafter(version=baseline).draft_many(leads, step) if leads else []
    candidate_drafts = ModelDrafter(version=candidate).draft_many(leads, step) if leads else []
    with transaction.atomic():
        for (case, lead), base, cand in zip(cases, baseline_drafts, candidate_drafts):
            ShadowPair.objects.create(
                candidate=candidate,
                baseline=baseline,
                lead=lead,
                case=case,
                baseline_draft=_as_json(base),
                candidate_draft=_as_json(cand),
                # Seeded by the pair, so the sides are fixed for it and unknown to the reviewer.
                candidate_left=random.Random(f"{candidate.pk}:{case}").random() < 0.5,
            )
    return list(candidate.pairs.order_by("pk"))


def gate_failures(candidate: PromptVersion) -> list[str]:
    """The hard gates: every candidate draft drafted (the output contract passed) and its text passing every check."""
    failures = []
    for pair in candidate.pairs.order_by("pk"):
        draft = pair.candidate_draft
        if "error" in draft:
            failures.append(f"{pair.case}: {draft['error']}")
            continue
        failures += [f"{pair.case}: {reason}" for reason in text_failures(draft["subject"], draft["body"], step_number=candidate.step.number)]
    if not candidate.pairs.exists():
        failures.append("no case to judge: the step has no past model cards")
    return failures


@dataclass
class Sides:
    left: dict
    right: dict


def sides(pair: ShadowPair) -> Sides:
    """The two drafts as the reviewer sees them: left and right, never named."""
    if pair.candidate_left:
        return Sides(pair.candidate_draft, pair.baseline_draft)
    return Sides(pair.baseline_draft, pair.candidate_draft)


def decide(pair: ShadowPair, *, pick: str, user, tag: RejectionTag | None = None) -> ShadowPair:
    """Record the reviewer's blind choice: 'left', 'right', or 'neither' (with a tag)."""
    if pick == "neither":
        if tag is None:
            raise ValueError("Rejecting both drafts needs a tag.")
        choice = ShadowPair.Choice.NEITHER
    elif pick in ("left", "right"):
        candidate_picked = (pick == "left") == pair.candidate_left
        choice = ShadowPair.Choice.CANDIDATE if candidate_picked else ShadowPair.Choice.BASELINE
        tag = None
    else:
        raise ValueError(f"Unknown choice {pick!r}.")
    ShadowPair.objects.filter(pk=pair.pk, choice="").update(choice=choice, rejection_tag=tag, decided_by=user, decided_at=timezone.now())
    pair.refresh_from_db()
    return pair


def verdict(candidate: PromptVersion) -> dict:
    """The evidence for a promotion: gates, pair counts, and the reasons it is refused (none: it may be promoted)."""
    pairs = list(candidate.pairs.select_related("rejection_tag"))
    counts = {choice: sum(1 for pair in pairs if pair.choice == choice) for choice in ("candidate", "baseline", "neither", "")}
    gates = gate_failures(candidate)
    factual = [pair.case for pair in pairs if pair.choice == "neither" and pair.rejection_tag and pair.rejection_tag.slug in FACTUAL_RISK_TAGS]
    reasons = []
    if gates:
        reasons.append(f"the hard gates fail ({len(gates)}: {gates[0]})")
    if counts[""]:
        reasons.append(f"{counts['']} of {len(pairs)} pairs are not decided yet")
    wins_or_ties = counts["candidate"] + counts["neither"]
    if pairs and not counts[""] and wins_or_ties * 2 < len(pairs):
        reasons.append(f"the candidate won or tied {wins_or_ties} of {len(pairs)} pairs; it needs at least half")
    if factual:
        reasons.append(f"a draft was rejected for a factual risk ({', '.join(factual)})")
    return {
        "pairs": len(pairs),
        "candidate_wins": counts["candidate"],
        "baseline_wins": counts["baseline"],
        "ties": counts["neither"],
        "undecided": counts[""],
        "gate_failures": gates,
        "factual_risk": factual,
        "refused": reasons,
        "judged_at": timezone.now().isoformat(),
    }


def promote(candidate: PromptVersion) -> dict:
    """Promote the candidate if the evidence allows; store the evidence either way; raise PromotionRefused with the reasons."""
    evidence = verdict(candidate)
    PromptVersion.objects.filter(pk=candidate.pk).update(evidence=evidence)
    if evidence["refused"]:
        raise PromotionRefused(evidence["refused"])
    prompts.promote(candidate, evidence=evidence)
    return evidence
