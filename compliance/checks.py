"""Compliance checks: pure functions over plain values, each returning a Finding.

A finding has a stable id (compliance.C001 style), a short name, pass/fail and
a human reason. Nothing here touches the database: `outreach.checks` gathers
the facts (EmailFacts) from a card, its lead and its campaign, and these
functions only judge them, so the same rules run at drafting, at approval and
just before sending, and run 1,000+ times a second in the pipeline.

Ids are stable: a snapshot stored on a card names its findings by id, and the
review desk and reports group by id. Never renumber; retire an id instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

# Subjects longer than this are cut by mail clients and read as bulk mail.
SUBJECT_MAX_LENGTH = 100
SUBJECT_MIN_LENGTH = 3
# A body shorter than this many words is a broken or truncated draft.
BODY_MIN_WORDS = 8
DEFAULT_OPT_OUT_LINE = "Reply STOP to unsubscribe."


@dataclass(frozen=True)
class Finding:
    id: str
    name: str
    passed: bool
    reason: str = ""

    def as_dict(self) -> dict:
        # Spelled out: dataclasses.asdict deep-copies and costs 20x more, and
        # the pipeline snapshots 17 findings per card.
        return {"id": self.id, "name": self.name, "passed": self.passed, "reason": self.reason}


@dataclass
class EmailFacts:
    """Everything the checks look at, as plain values (built by outreach.checks)."""

    subject: str
    body: str
    footer: str
    # The footer compliance.footer would build for this lead right now.
    expected_footer: str = ""
    opt_out_line: str = DEFAULT_OPT_OUT_LINE
    postal_address: str = ""
    step_number: int = 1
    # The lead.
    lead_email: str = ""
    lead_domains: tuple[str, ...] = ()
    lead_tier: str = ""
    do_not_contact: bool = False
    do_not_contact_reason: str = ""
    on_do_not_contact_list: bool = False
    # Whole domains on the do-not-contact list; a subdomain of one is covered too.
    do_not_contact_domains: Collection[str] = field(default_factory=frozenset)
    # Why an unresolved identity collision holds the lead back, or ''.
    identity_collision: str = ""
    unsubscribed: bool = False
    bounced: bool = False
    # The lead wrote back: a person answers now, not the sequence.
    replied: bool = False
    # Excluded customer domains; a subdomain of one is excluded too.
    excluded_domains: Collection[str] = field(default_factory=frozenset)
    # Another card of this lead, campaign and step in a contacted state (outreach's CardStatus.CONTACTED).
    already_contacted: bool = False
    # The card's labels and what its campaign expects.
    card_classifier: str = ""
    card_campaign_ref: str = ""
    campaign_ref: str = ""
    campaign_classifier: str = ""
    campaign_tier: str = ""


def _pass(check_id: str, name: str) -> Finding:
    return Finding(check_id, name, True, "")


def _fail(check_id: str, name: str, reason: str) -> Finding:
    return Finding(check_id, name, False, reason)


# --- Detectors (also used by the drafting pipeline and the property tests) ---

# Leftover merge fields of the usual template syntaxes: Django/Jinja/Handlebars
# ({{ x }}, {% x %}), Python/JS/Ruby interpolation ({x}, ${x}, #{x}, {!x}),
# square ([NAME], [[name]]), angle (<FIRST NAME>, <<name>>, <first_name>),
# percent (%FIRSTNAME%, %%name%%), Mailchimp (*|FNAME|*) and __FIRST_NAME__.
# A stray '{{' or '}}' alone is a half-rendered template too.
PLACEHOLDER_RE = re.compile(
    r"""
      \{\{ | \}\} | \{% | %\}
    | \$?\{\s*[!$]?[A-Za-z_][\w.\s!$-]*\}
    | \[\[[^\]]*\]\]
    | \[\s*[A-Za-z_][A-Za-z0-9 _.-]*\]
    | <<[^>]*>>
    | <\s*[A-Z][A-Za-z0-9_ ]*>
    | <\s*[a-z]+_[a-z_]+\s*>
    | %%?[A-Za-z_][A-Za-z0-9_.]*%%?
    | \*\|[A-Za-z0-9_:]+\|\*
    | __[A-Z][A-Z0-9_]*__
    """,
    re.VERBOSE,
)


def find_placeholder(text: str) -> str:
    """Return the first unrendered placeholder in `text`, or ''."""
    match = PLACEHOLDER_RE.search(text or "")
    return match.group(0) if match else ""


def is_line_break_or_control(char: str) -> bool:
    """True for characters that may split a mail header: CR, LF, other line and
    paragraph separators (VT, FF, FS/GS/RS, NEL, U+2028/9) and control characters."""
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")


def find_header_breaker(text: str) -> str:
    """Return the first character of `text` that could inject a header line, or ''."""
    for char in text or "":
        if is_line_break_or_control(char):
            return char
    return ""


def covering_domain(domains: Iterable[str], listed: Collection[str]) -> str:
    """Return the listed domain equal to, or a parent of, any of `domains`, or ''.

    Both sides are canonical (compliance.identity.canonical_domain), so labels compare exactly.
    """
    for domain in domains:
        labels = (domain or "").split(".")
        for start in range(len(labels)):
            candidate = ".".join(labels[start:])
            if candidate and candidate in listed:
                return candidate
    return ""


covering_excluded_domain = covering_domain


_SIGN_OFF_RE = re.compile(
    r"^(best( regards| wishes)?|(kind |warm |warmest )?regards|warmly|thanks( again| so much)?|thank you|many thanks"
    r"|cheers|sincerely|all the best|talk soon|speak soon|respectfully|with thanks)\s*[,.!—–-]*$",
    re.IGNORECASE,
)
_DASH_SIGNATURE_RE = re.compile(r"^(--|—|–)\s*[A-Za-z]")
_CTA_RE = re.compile(
    r"\?|\b(book|schedule|calendar|calendly|let me know|reply|open to|worth a (quick )?(chat|call)|hop on"
    r"|set up a (call|time|meeting)|find a time|grab (a )?time)\b",
    re.IGNORECASE,
)
_REPLY_PREFIX_RE = re.compile(r"^\s*(re|fw|fwd|aw|wg|sv|vs|tr|rif)\s*(\[\d+\]|\(\d+\))?\s*:", re.IGNORECASE)
_TRUNCATED_END_RE = re.compile(r"(\.\.\.|…|[,:;(\[{—–-])\s*$")


# --- Message checks ---


def check_opt_out(facts: EmailFacts) -> Finding:
    """C001: the opt-out line ("Reply STOP to unsubscribe" or the configured one) is in what the contact receives."""
    name = "Opt-out line"
    full_text = f"{facts.body}\n{facts.footer}".lower()
    accepted = {DEFAULT_OPT_OUT_LINE, (facts.opt_out_line or "").strip()}
    if any(line and line.rstrip(".").lower() in full_text for line in accepted):
        return _pass("compliance.C001", name)
    return _fail("compliance.C001", name, f"The email lacks the opt-out line “{facts.opt_out_line or DEFAULT_OPT_OUT_LINE}”.")


def check_footer(facts: EmailFacts) -> Finding:
    """C002: the footer is exactly the canonical one (postal address included)."""
    name = "Canonical footer"
    if not (facts.footer or "").strip():
        return _fail("compliance.C002", name, "The canonical footer is missing.")
    if facts.postal_address and facts.postal_address not in facts.footer:
        return _fail("compliance.C002", name, "The footer lacks the sender's postal address.")
    if facts.expected_footer and facts.footer != facts.expected_footer:
        return _fail("compliance.C002", name, "The footer differs from the canonical footer; redraft the card.")
    return _pass("compliance.C002", name)


def check_placeholders(facts: EmailFacts) -> Finding:
    """C003: no unrendered placeholder in subject or body."""
    name = "No placeholders"
    found = find_placeholder(facts.subject) or find_placeholder(facts.body)
    if found:
        return _fail("compliance.C003", name, f"Unrendered placeholder {found!r}.")
    return _pass("compliance.C003", name)


def check_signature(facts: EmailFacts) -> Finding:
    """C004: the body closes with a sign-off followed by a name."""
    name = "Signature"
    lines = [line.strip() for line in (facts.body or "").splitlines() if line.strip()]
    tail = lines[-5:]
    for index, line in enumerate(tail):
        if _DASH_SIGNATURE_RE.match(line):
            return _pass("compliance.C004", name)
        if _SIGN_OFF_RE.match(line) and index + 1 < len(tail) and re.search(r"[A-Za-z]", tail[index + 1]):
            return _pass("compliance.C004", name)
    return _fail("compliance.C004", name, "No signature: the body should end with a sign-off (e.g. “Best,”) and a name.")


def check_call_to_action(facts: EmailFacts) -> Finding:
    """C005: the body asks for something (a question or an explicit ask)."""
    name = "Call to action"
    if _CTA_RE.search(facts.body or ""):
        return _pass("compliance.C005", name)
    return _fail("compliance.C005", name, "No call to action: ask a question or propose a next step.")


def check_body_complete(facts: EmailFacts) -> Finding:
    """C006: the body is neither empty nor truncated."""
    name = "Complete body"
    body = (facts.body or "").strip()
    if not body:
        return _fail("compliance.C006", name, "The body is empty.")
    if "\ufffd" in body:
        return _fail("compliance.C006", name, "The body has broken characters (U+FFFD): a bad encoding or a cut.")
    words = len(body.split())
    if words < BODY_MIN_WORDS:
        return _fail("compliance.C006", name, f"The body has only {words} words: it looks truncated.")
    if _TRUNCATED_END_RE.search(body):
        return _fail("compliance.C006", name, f"The body ends with {body[-3:]!r}: it looks truncated.")
    return _pass("compliance.C006", name)


# --- Subject checks ---


def check_subject_present(facts: EmailFacts) -> Finding:
    """C007: the subject is not empty."""
    name = "Subject present"
    if (facts.subject or "").strip():
        return _pass("compliance.C007", name)
    return _fail("compliance.C007", name, "The subject is empty.")


def check_subject_single_line(facts: EmailFacts) -> Finding:
    """C008: no line break or control character in the subject (header injection)."""
    name = "Subject on one line"
    breaker = find_header_breaker(facts.subject)
    if breaker:
        return _fail("compliance.C008", name, f"The subject contains {breaker!r}: a line break could inject mail headers.")
    return _pass("compliance.C008", name)


def check_subject_not_reply(facts: EmailFacts) -> Finding:
    """C009: a first touch does not pretend to be a reply or a forward."""
    name = "No misleading Re:/Fwd:"
    if facts.step_number <= 1 and _REPLY_PREFIX_RE.match(facts.subject or ""):
        return _fail("compliance.C009", name, "A first email must not start its subject with Re:/Fwd: (misleading).")
    return _pass("compliance.C009", name)


def check_subject_length(facts: EmailFacts) -> Finding:
    """C010: the subject has a sane length."""
    name = "Subject length"
    length = len((facts.subject or "").strip())
    if length and length < SUBJECT_MIN_LENGTH:
        return _fail("compliance.C010", name, f"The subject has {length} characters; at least {SUBJECT_MIN_LENGTH}.")
    if length > SUBJECT_MAX_LENGTH:
        return _fail("compliance.C010", name, f"The subject has {length} characters; at most {SUBJECT_MAX_LENGTH}.")
    return _pass("compliance.C010", name)


# --- Lead checks ---


def check_not_do_not_contact(facts: EmailFacts) -> Finding:
    """C011: the lead is not do-not-contact (its flag or the do-not-contact list)."""
    name = "Not do-not-contact"
    if facts.do_not_contact:
        detail = f": {facts.do_not_contact_reason}" if facts.do_not_contact_reason else ""
        return _fail("compliance.C011", name, f"The lead is marked do-not-contact{detail}.")
    if facts.on_do_not_contact_list:
        return _fail("compliance.C011", name, f"{facts.lead_email} is on the do-not-contact list.")
    listed_domain = covering_domain(facts.lead_domains, facts.do_not_contact_domains)
    if listed_domain:
        return _fail("compliance.C011", name, f"Everyone at {listed_domain} is on the do-not-contact list.")
    return _pass("compliance.C011", name)


def check_not_unsubscribed(facts: EmailFacts) -> Finding:
    """C012: the lead has not unsubscribed."""
    name = "Not unsubscribed"
    if facts.unsubscribed:
        return _fail("compliance.C012", name, "The lead unsubscribed.")
    return _pass("compliance.C012", name)


def check_not_bounced(facts: EmailFacts) -> Finding:
    """C013: the lead's address has not bounced."""
    name = "Not bounced"
    if facts.bounced:
        return _fail("compliance.C013", name, "The lead's address bounced.")
    return _pass("compliance.C013", name)


def check_not_replied(facts: EmailFacts) -> Finding:
    """C018: the lead has not replied; a drafted follow-up must not go out after a reply."""
    name = "Not replied"
    if facts.replied:
        return _fail("compliance.C018", name, "The lead replied: answer them personally instead of sending the sequence.")
    return _pass("compliance.C018", name)


def check_domain_not_excluded(facts: EmailFacts) -> Finding:
    """C014: the lead's domain is not an excluded (customer) domain or a subdomain of one."""
    name = "Domain not excluded"
    excluded = covering_excluded_domain(facts.lead_domains, facts.excluded_domains)
    if excluded:
        return _fail("compliance.C014", name, f"The domain {excluded} is excluded (e.g. a current customer).")
    return _pass("compliance.C014", name)


def check_not_already_contacted(facts: EmailFacts) -> Finding:
    """C015: no other card already went (or is going) to this lead for this campaign step."""
    name = "Not already contacted"
    if facts.already_contacted:
        return _fail(
            "compliance.C015", name, "Another card of this campaign step is already queued, sending or sent to the lead."
        )
    return _pass("compliance.C015", name)


def check_no_identity_collision(facts: EmailFacts) -> Finding:
    """C019: no unresolved identity collision names the lead (see compliance.models.IdentityCollision)."""
    name = "No unresolved identity collision"
    if facts.identity_collision:
        return _fail("compliance.C019", name, f"Held back until a person resolves it: {facts.identity_collision}")
    return _pass("compliance.C019", name)


# --- Card labels ---


def check_classifier(facts: EmailFacts) -> Finding:
    """C016: the classifier is the campaign's, and the lead's tier is the campaign's."""
    name = "Classifier consistent"
    if facts.card_classifier != facts.campaign_classifier:
        return _fail(
            "compliance.C016",
            name,
            f"Classifier {facts.card_classifier!r} but the campaign expects {facts.campaign_classifier!r}.",
        )
    if facts.lead_tier != facts.campaign_tier:
        return _fail("compliance.C016", name, f"The lead is {facts.lead_tier} but the campaign targets {facts.campaign_tier}.")
    if facts.lead_tier and not facts.card_classifier.endswith(facts.lead_tier):
        return _fail(
            "compliance.C016", name, f"Classifier {facts.card_classifier!r} does not name the lead's tier {facts.lead_tier}."
        )
    return _pass("compliance.C016", name)


def check_campaign_ref(facts: EmailFacts) -> Finding:
    """C017: the card's campaign_ref is its campaign's ref."""
    name = "Campaign ref consistent"
    if facts.card_campaign_ref != facts.campaign_ref:
        return _fail(
            "compliance.C017", name, f"campaign_ref {facts.card_campaign_ref!r} but the campaign is {facts.campaign_ref!r}."
        )
    return _pass("compliance.C017", name)


# The checks that judge only the written text (not the footer, the lead or the
# labels): what a drafter can fix by writing again. The model drafter runs
# these on each draft and sends their reasons back with a retry.
TEXT_CHECKS: list[Callable[[EmailFacts], Finding]] = [
    check_placeholders,
    check_signature,
    check_call_to_action,
    check_body_complete,
    check_subject_present,
    check_subject_single_line,
    check_subject_not_reply,
    check_subject_length,
]

CHECKS: list[Callable[[EmailFacts], Finding]] = [
    check_opt_out,
    check_footer,
    *TEXT_CHECKS,
    check_not_do_not_contact,
    check_not_unsubscribed,
    check_not_bounced,
    check_domain_not_excluded,
    check_not_already_contacted,
    check_classifier,
    check_campaign_ref,
    check_not_replied,
    check_no_identity_collision,
]

# The checks about the lead's suppression: re-run cheaply before sending.
SUPPRESSION_CHECK_IDS = frozenset({"compliance.C011", "compliance.C012", "compliance.C013", "compliance.C014"})


def run_all(facts: EmailFacts) -> list[Finding]:
    """Return the findings of every check, in id order."""
    return [check(facts) for check in CHECKS]


def text_failures(subject: str, body: str, *, step_number: int = 1) -> list[str]:
    """Return 'name: reason' for each text check the subject and body fail."""
    facts = EmailFacts(subject=subject, body=body, footer="", step_number=step_number)
    return [f"{finding.name}: {finding.reason}" for finding in (check(facts) for check in TEXT_CHECKS) if not finding.passed]
