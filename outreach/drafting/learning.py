"""Learning from the desk: what the Head of Sales did to a step's model cards, and style rules proposed from it.

`evaluation_set(step)` gathers, per prompt version, the rejections (tag and
note), the edits made before a decision (each CardEdit keeps its diff) and the
reply outcomes. `propose_style_rules(step)` turns them into plain-language
rules, deterministically (the same desk history proposes the same rules):
- an opening line a reviewer deleted or rewrote -> never open like it;
- a sentence a reviewer deleted -> do not write it;
- a reviewer's rejection note -> the note, as a rule.
A rule takes effect only when the Head of Sales accepts it
(`accept_style_rule`), and accepting one makes a new candidate prompt
version, which the shadow lane must promote before it drafts anything live.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count

from outreach.drafting.prompts import current_version, new_candidate
from outreach.models import CadenceStep, CardEdit, CardStatus, PendingEmail, PromptVersion

MAX_PROPOSALS = 5
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass
class VersionLessons:
    version: str
    drafted: int = 0
    rejected: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    edits: list[str] = field(default_factory=list)
    sent: int = 0
    replied: int = 0


def evaluation_set(step: CadenceStep) -> dict[str, VersionLessons]:
    """Return, per prompt version of `step`, what the desk and the replies said of its cards."""
    lessons: dict[str, VersionLessons] = {}
    cards = PendingEmail.objects.filter(step=step, drafter="model").exclude(rejection_tag__system=True)
    diffs: dict[int, list[str]] = {}
    for card_id, diff in CardEdit.objects.filter(card__in=cards).exclude(diff="").order_by("pk").values_list("card_id", "diff"):
        diffs.setdefault(card_id, []).append(diff)
    rows = cards.values("pk", "prompt_version", "status", "rejection_tag__slug", "rejection_note").annotate(replies=Count("replies"))
    for row in rows.order_by("prompt_version", "pk"):
        entry = lessons.setdefault(row["prompt_version"], VersionLessons(row["prompt_version"]))
        entry.drafted += 1
        if row["status"] == CardStatus.REJECTED:
            entry.rejected[row["rejection_tag__slug"] or "untagged"] += 1
            if row["rejection_note"].strip():
                entry.notes.append(row["rejection_note"].strip())
        entry.edits += diffs.get(row["pk"], [])
        if row["status"] == CardStatus.SENT:
            entry.sent += 1
            entry.replied += 1 if row["replies"] else 0
    return lessons


def propose_style_rules(step: CadenceStep) -> list[str]:
    """Return up to MAX_PROPOSALS new style rules from the desk's edits and rejection notes, most frequent first."""
    counts: Counter = Counter()
    for lessons in evaluation_set(step).values():
        for diff in lessons.edits:
            counts.update(_rules_from_diff(diff))
        counts.update(f"Avoid what a reviewer rejected: “{note}”" for note in lessons.notes)
    existing = {rule.strip() for rule in current_version(step).style_rules.splitlines()}
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [rule for rule, _ in ranked if rule not in existing][:MAX_PROPOSALS]


def _sentences(lines: list[str]) -> list[str]:
    return [part.strip() for line in lines for part in _SENTENCE_END.split(line) if part.strip()]


def _rules_from_diff(diff: str) -> list[str]:
    """Rules from one edit: each sentence the reviewer removed (kept elsewhere it is not removed)."""
    lines = diff.splitlines()
    removed = _sentences([line[1:] for line in lines if line.startswith("-") and not line.startswith("---")])
    added = set(_sentences([line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")]))
    rules = []
    for sentence in removed:
        if sentence in added:
            continue
        if _is_opening(sentence):
            rules.append(f"Never open with a line like “{sentence}”")
        else:
            rules.append(f"Do not write “{sentence}”")
    return rules


def _is_opening(sentence: str) -> bool:
    # Openers that read as filler or flattery; a diff has no context to tell the first sentence, so go by its words.
    lowered = sentence.lower()
    return lowered.startswith(("i hope", "i noticed", "i saw", "congrat", "i came across", "i am writing", "i'm reaching"))


def accept_style_rule(step: CadenceStep, rule: str, *, user=None) -> PromptVersion:
    """The Head of Sales accepts a proposed rule: a new candidate version with it, waiting for the shadow lane."""
    base = current_version(step)
    rules = "\n".join(filter(None, [base.style_rules.strip(), rule.strip()]))
    return new_candidate(step, style_rules=rules, user=user, note=f"accepted style rule: {rule.strip()}")


# Rejection tags that say a draft may state something untrue: one on a candidate's draft refuses its promotion.
FACTUAL_RISK_TAGS = ("wrong_person_company", "campaign_mismatch", "compliance_failure")

