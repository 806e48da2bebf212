"""The output contract of a model-drafted email: what must hold before it may become a card.

Pure functions over plain values, so the same rules judge a draft inside the
model drafter (its reasons go back to the model with a retry), and a card at
approval (an ungrounded claim blocks approval: `grounding_failures` is that
one rule, used by both).

The fact sheet (`fact_sheet`) is what the model may rest a claim on: the lead's
fields, the sender's name, and the campaign's facts written by the Head of
Sales, one a line, each with its kind:
  offer:  what we offer        -> citable
  proof:  a proof point        -> citable
  tone:   how to write         -> guidance, not evidence
  forbidden: a claim never to make -> guidance, and the phrase is banned
Fact ids: `lead.company`, `sender.name`, and for a campaign line its kind and
a digest of its text (`proof-3fa2c1`): not its position, so deleting or
editing one line never lets a stored claim point at another fact; an edited
line is a new fact, and claims on the old one are no longer grounded.

Grounding, deterministic: the text is cut into the tokens that carry a
checkable fact, and each must appear in a cited fact.
- numbers: any run that starts with a digit (`40%`, `$2M`, `2026`, `3x`,
  `12,000`), compared without `$`, thousands commas and trailing punctuation.
  An invented funding round, head count, discount or date has a number.
- capitalised words: proper names, companies, titles (`VP`, `Marketing`)
  and month and day names. An invented hire, customer, title or event is
  named with one. Lowercase prose carries tone, not facts, and is not checked.
- a capitalised word that opens a sentence or a line is capitalised by
  position, not because it is a name, so it is exempt, but only when it is
  one of COMMON_OPENERS (a closed list of ordinary words: "Thanks", "Would",
  "Our"...); "Acme raised..." at a sentence start is still checked.
A token is grounded when it appears, as a whole word and ignoring case, in a
fact cited by one of the draft's claims, or in the facts every email may use
without citing (the lead's name and the sender's name: the greeting and the
signature). Each claim must also quote the text verbatim (so the card page can
mark it) and cite a citable fact that contains the claim's own checked tokens.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from compliance.checks import find_placeholder, text_failures

CITABLE_KINDS = ("lead", "sender", "offer", "proof")
CAMPAIGN_KINDS = ("offer", "proof", "tone", "forbidden")
# Facts the greeting and the signature use: grounded without a claim citing them.
ALWAYS_CITED = ("lead.first_name", "lead.last_name", "lead.full_name", "sender.name")
LEAD_FACT_FIELDS = ("first_name", "last_name", "full_name", "company", "title", "domain")

# AI tells and hollow openers that readers recognise as machine-written; one
# line each, matched ignoring case. The campaign adds its own.
GLOBAL_BANNED_PHRASES = (
    "i hope this email finds you well",
    "i hope this finds you well",
    "i hope you're doing well",
    "in today's fast-paced",
    "in today's digital landscape",
    "delve",
    "game-changer",
    "game changer",
    "revolutionize",
    "revolutionise",
    "unlock the power",
    "unlock your potential",
    "take it to the next level",
    "cutting-edge",
    "synergy",
    "seamlessly",
    "as an ai",
    "i came across your profile",
    "i noticed your company's impressive growth",
    "just circling back",
    "touch base",
)
# Price and discount promises: allowed only when a cited fact says the same words.
PROMISE_TERMS = ("discount", "% off", "percent off", "free", "price", "pricing", "cheaper", "no cost", "guarantee", "save")

COMMON_OPENERS = frozenset(
    """
    a about after all also an and any are as at be because before best but by can cheers could did do does
    each even every few for from glad had happy has have he hello her here hey hi his how however i if in is
    it its just kind kindly last let like looking many may maybe might more most much my next no not now of
    often on once one only or other our out perhaps please quick quickly regards sincerely she should since
    so some still such thank thanks that the their them then there these they this those though thought to
    today too totally two up us warm warmly was we well were what when where whether which while who why will
    with would yes yet you your yours
    """.split()
)

_NUMBER_RE = re.compile(r"\$?\d[\d,.]*(?:%|[a-zA-Z]+)?")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’&-]*")
_SENTENCE_START_RE = re.compile(r"(?:^|[.!?:]\s+|\n\s*)$")


@dataclass(frozen=True)
class Fact:
    id: str
    kind: str
    text: str

    @property
    def citable(self) -> bool:
        return self.kind in CITABLE_KINDS

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "text": self.text}


def campaign_facts(text: str) -> list[Fact]:
    """Parse the campaign's facts: one a line, 'kind: text'; a line with another kind or none is ignored."""
    facts = []
    for line in (text or "").splitlines():
        kind, sep, rest = line.partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in CAMPAIGN_KINDS or not rest.strip():
            continue
        facts.append(Fact(campaign_fact_id(kind, rest.strip()), kind, rest.strip()))
    return facts


def campaign_fact_id(kind: str, text: str) -> str:
    return f"{kind}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:6]}"


def fact_sheet(lead_values: Mapping[str, str], sender_name: str, campaign_text: str) -> list[Fact]:
    """Return every fact of a draft: the lead's non-empty fields, the sender, the campaign's lines."""
    facts = [Fact(f"lead.{name}", "lead", str(lead_values.get(name) or "").strip()) for name in LEAD_FACT_FIELDS]
    facts = [fact for fact in facts if fact.text]
    if sender_name:
        facts.append(Fact("sender.name", "sender", sender_name))
    return facts + campaign_facts(campaign_text)


def phrase_list(text: str) -> list[str]:
    return [line.strip().lower() for line in (text or "").splitlines() if line.strip()]


# --- tokens -------------------------------------------------------------------


def _number(token: str) -> str:
    return token.replace("$", "").replace(",", "").rstrip(".").lower()


def checked_tokens(text: str) -> list[str]:
    """Return the tokens of `text` that must be grounded: numbers and capitalised words (see the module doc)."""
    tokens = [_number(match.group(0)) for match in _NUMBER_RE.finditer(text or "")]
    for match in _WORD_RE.finditer(text or ""):
        word = match.group(0).strip("'’-&")
        # A unit after digits ("$2M", "3x") is part of the number token already.
        if not word or not word[0].isupper() or (match.start() and text[match.start() - 1].isdigit()):
            continue
        at_start = bool(_SENTENCE_START_RE.search(text[: match.start()]))
        lowered = word.lower()
        if lowered in ("i", "i'm", "i'd", "i've", "i'll", "i’m", "i’d", "i’ve", "i’ll"):
            continue
        if at_start and lowered in COMMON_OPENERS:
            continue
        tokens.append(lowered)
    return tokens


def _fact_vocabulary(texts: Iterable[str]) -> set[str]:
    vocabulary: set[str] = set()
    for text in texts:
        vocabulary.update(_number(match.group(0)) for match in _NUMBER_RE.finditer(text))
        vocabulary.update(match.group(0).strip("'’-&").lower() for match in _WORD_RE.finditer(text))
    return vocabulary


# --- the rules -----------------------------------------------------------------


def grounding_failures(subject: str, body: str, claims: Sequence[Mapping], facts: Sequence[Fact]) -> list[str]:
    """Return why the text is not grounded in its cited facts; empty when every checked token is.

    The one home of "an ungrounded claim": the drafting check and the approval blocker.
    """
    by_id = {fact.id: fact for fact in facts}
    text = f"{subject}\n{body}"
    failures = []
    cited: list[Fact] = [by_id[fact_id] for fact_id in ALWAYS_CITED if fact_id in by_id]
    for claim in claims:
        quote = str(claim.get("text", "")).strip()
        fact = by_id.get(str(claim.get("fact", "")))
        if fact is None or not fact.citable:
            failures.append(f"the claim “{quote}” cites {claim.get('fact')!r}, which is not a fact on the sheet")
            continue
        cited.append(fact)
        if not quote or quote not in text:
            failures.append(f"the claim “{quote}” is not quoted word for word from the email")
            continue
        own = _fact_vocabulary([fact.text] + [by_id[fact_id].text for fact_id in ALWAYS_CITED if fact_id in by_id])
        missing = [token for token in checked_tokens(quote) if token not in own]
        if missing:
            failures.append(f"the claim “{quote}” is not in its fact {fact.id} ({', '.join(dict.fromkeys(missing))} is not)")
    vocabulary = _fact_vocabulary(fact.text for fact in cited)
    missing = [token for token in checked_tokens(text) if token not in vocabulary]
    if missing:
        failures.append(f"ungrounded: {', '.join(dict.fromkeys(missing))} appear in no cited fact")
    return failures


def banned_phrase_failures(subject: str, body: str, *, campaign_phrases: Iterable[str], facts: Sequence[Fact], cited: Iterable[str]) -> list[str]:
    """Return the banned phrases the text uses: global AI tells, the campaign's, its forbidden claims, and
    price or discount promises that no cited fact states."""
    text = f"{subject}\n{body}".lower()
    cited_text = " ".join(fact.text.lower() for fact in facts if fact.id in set(cited))
    banned = list(GLOBAL_BANNED_PHRASES) + [p for p in campaign_phrases] + [f.text.lower() for f in facts if f.kind == "forbidden"]
    failures = [f"banned phrase “{phrase}”" for phrase in dict.fromkeys(banned) if phrase and phrase in text]
    for term in PROMISE_TERMS:
        if re.search(rf"(?<![a-z]){re.escape(term)}(?![a-z])", text) and term not in cited_text:
            failures.append(f"a price or discount promise (“{term}”) that no cited fact states")
    return failures


def contract_failures(
    subject: str,
    body: str,
    claims: Sequence[Mapping],
    *,
    facts: Sequence[Fact],
    campaign_phrases: Iterable[str] = (),
    step_number: int = 1,
    max_words: int = 180,
) -> list[str]:
    """Return every reason the draft may not become a card (empty: it may go on to the pipeline's checks)."""
    failures = list(text_failures(subject, body, step_number=step_number))
    for part, value in (("subject", subject), ("body", body)):
        # Already named by the placeholder check; the contract also refuses template syntax in claims.
        if find_placeholder(value) and not any(f.startswith("No placeholders") for f in failures):
            failures.append(f"No placeholders: template syntax in the {part}")
    words = len(body.split())
    if words > max_words:
        failures.append(f"Length: the body has {words} words; at most {max_words}")
    failures += banned_phrase_failures(
        subject, body, campaign_phrases=campaign_phrases, facts=facts, cited=[str(c.get("fact", "")) for c in claims]
    )
    failures += grounding_failures(subject, body, claims, facts)
    return failures


# --- a card's evidence ----------------------------------------------------------


def card_facts(card) -> list[Fact]:
    """Return the fact sheet a card is judged against now: its lead's fields, sender and campaign facts as they stand.

    Read live, as compliance is: a fact the Head of Sales withdrew since drafting no longer grounds a claim.
    """
    lead, campaign = card.lead, card.campaign
    values = {name: str(getattr(lead, name) or "") for name in LEAD_FACT_FIELDS}
    return fact_sheet(values, campaign.from_name, campaign.facts)


def card_grounding_failures(card) -> list[str]:
    """Return why a model-drafted card's text is not grounded (empty for template cards: people wrote those)."""
    if card.drafter != "model":
        return []
    return grounding_failures(card.subject, card.body, card.claims or [], card_facts(card))


def marked_segments(text: str, claims: Sequence[Mapping], facts: Sequence[Fact]) -> list[dict]:
    """Cut `text` into segments, each claim's first quote marked with the fact it cites (for the card page)."""
    by_id = {fact.id: fact for fact in facts}
    spans = []
    for claim in claims:
        quote = str(claim.get("text", ""))
        start = text.find(quote) if quote else -1
        if start < 0 or any(start < end and start + len(quote) > begin for begin, end, _ in spans):
            continue
        spans.append((start, start + len(quote), claim))
    segments, position = [], 0
    for begin, end, claim in sorted(spans, key=lambda span: span[0]):
        if begin > position:
            segments.append({"text": text[position:begin]})
        fact = by_id.get(str(claim.get("fact", "")))
        segments.append({"text": text[begin:end], "fact_id": claim.get("fact", ""), "fact": fact.text if fact else "(no such fact now)"})
        position = end
    if position < len(text):
        segments.append({"text": text[position:]})
    return segments
