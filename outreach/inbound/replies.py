"""Inbound replies: what a reply says, and what each classification does.

`classify` reads a reply with fixed rules (keywords and patterns, no model):
only the text the sender wrote counts, i.e. the first lines above the quoted
history ("On ... wrote:", "> " lines, "-----Original Message-----", a
forwarded header block) and above the signature. So a reply that quotes our
footer's "Reply STOP to unsubscribe" is not an opt-out, and neither is a
"stop" buried in a long message: that one is kept for a person (unclassified).

`apply_classification` is the one place a classification has consequences,
for the webhook and for a person reclassifying in the admin alike:
- opt-out suppresses the lead through `outreach.inbound.suppression.suppress_lead`
  (the same service as the one-click link) and counts as an unsubscribe, not
  a reply: the lead's `replied_at` is not set by it and its email event is
  `unsubscribed`;
- out of office counts as an auto-reply: the sequence goes on;
- anything else (interested, not now, other, unclassified) is a reply: the
  lead's `replied_at` is set and its sequence stops.
Moving a reply away from opt-out never lifts the suppression: undoing an
opt-out is a deliberate act on the lead, not a side effect of a label.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from django.db import transaction
from django.utils import timezone

from outreach.models import EmailEvent, Enrollment, Lead, Reply
from outreach.inbound.suppression import suppress_lead


# How many lines of the sender's own text an opt-out may stand in to count at once.
OPT_OUT_LINES = 5

# --- what each classification counts as --------------------------------------

EVENT_KIND = {
    Reply.Classification.OPT_OUT: EmailEvent.Kind.UNSUBSCRIBED,
    Reply.Classification.OUT_OF_OFFICE: EmailEvent.Kind.AUTO_REPLIED,
}


def event_kind(classification: str) -> str:
    """Return the email event a reply of `classification` counts as (the KPIs read these)."""
    return EVENT_KIND.get(classification, EmailEvent.Kind.REPLIED)


def counts_as_reply(classification: str) -> bool:
    """True when the reply stops the sequence and counts in the reply rate."""
    return event_kind(classification) == EmailEvent.Kind.REPLIED


# --- reading the sender's own text -------------------------------------------


class _TextOfHtml(HTMLParser):
    """Plain text of an HTML email, without quoted blocks (blockquote, Gmail/Outlook quote containers)."""

    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "table"}
    QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "divrplyfwdmsg")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.stack: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        classes = dict(attrs).get("class") or ""
        element_id = dict(attrs).get("id") or ""
        quoting = tag == "blockquote" or any(name in classes for name in self.QUOTE_CLASSES) or element_id == "divRplyFwdMsg"
        if tag in ("br", "hr", "img", "meta", "link", "input"):
            if tag == "br" and not self.skip_depth:
                self.parts.append("\n")
            if tag == "hr" and not self.skip_depth:
                # Outlook puts its quoted header under a rule.
                self.parts.append("\n-----Original Message-----\n")
            return
        self.stack.append((tag, quoting))
        if quoting:
            self.skip_depth += 1
        if tag in self.BREAKS and not self.skip_depth:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            opened, quoting = self.stack.pop()
            if quoting:
                self.skip_depth -= 1
            if opened == tag:
                break
        if tag in self.BREAKS and not self.skip_depth:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth and not (self.stack and self.stack[-1][0] in ("style", "script", "head", "title")):
            self.parts.append(data)


def plain_text(text: str) -> str:
    """Return the text of a reply body, HTML or plain, with quoted HTML blocks left out."""
    if re.search(r"<\s*(p|br|div|html|body|blockquote|span|table)\b", text, re.IGNORECASE):
        parser = _TextOfHtml()
        parser.feed(text)
        parser.close()
        text = "".join(parser.parts)
    else:
        text = html.unescape(text)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")


# A line where quoted history starts: everything from it down is someone else's text.
_QUOTE_START = [
    re.compile(r"^\s*>"),
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original|Forwarded) Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{5,}\s*$"),
    re.compile(r"^\s*From:\s.+", re.IGNORECASE),
    re.compile(r"^\s*Begin forwarded message:", re.IGNORECASE),
]
# A line where the signature starts ("-- " by convention, or a phone's tag line).
_SIGNATURE_START = [
    re.compile(r"^\s*--\s*$"),
    re.compile(r"^\s*Sent from my \w+", re.IGNORECASE),
    re.compile(r"^\s*Get Outlook for ", re.IGNORECASE),
]
# "On Tue, 3 Mar 2026 at 10:00, Alex Rivera <a@b>" then "wrote:" on the next line (Gmail wraps it).
_QUOTE_HEADER_SPLIT = re.compile(r"^\s*On\b.{0,300}$", re.IGNORECASE)


def own_lines(text: str) -> list[str]:
    """Return the non-blank lines the sender wrote: above the quoted history and the signature."""
    lines = plain_text(text).split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if any(pattern.search(line) for pattern in _QUOTE_START + _SIGNATURE_START):
            break
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _QUOTE_HEADER_SPLIT.search(line) and re.match(r"^\s*.{0,200}\bwrote:\s*$", following, re.IGNORECASE):
            break
        if line.strip():
            kept.append(" ".join(line.split()))
    return kept


# --- the rules ------------------------------------------------------------------

_NEGATION = r"(?:don'?t|do not|didn'?t|did not|no need to|never|not)\s+(?:\w+\s+){0,2}"

# An unmistakable request to stop: the line is only the word, or the words say it.
_OPT_OUT = [
    (re.compile(r"^\W*(?:please\W+)?(?:stop|unsubscribe|unsub|remove|opt[\s-]?out|cancel)(?:\W+(?:please|me|thanks?|thank you|now))*\W*$", re.IGNORECASE), "asks to stop"),
    (re.compile(r"\bunsubscribe\b|\bunsub\b", re.IGNORECASE), "unsubscribe"),
    (re.compile(r"\bremove\s+(?:me|us|my\s+(?:e-?mail|address|name)|this\s+(?:e-?mail|address))\b", re.IGNORECASE), "remove me"),
    (re.compile(r"\btake\s+(?:me|us|my\s+(?:e-?mail|address|name))\s+off\b", re.IGNORECASE), "take me off"),
    (re.compile(r"\bopt(?:\s+me)?[\s-]?out\b", re.IGNORECASE), "opt out"),
    (re.compile(r"\b(?:please\s+)?stop\s+(?:e-?mailing|emailing|sending|contacting|messaging|spamming|writing|this|these|all)\b", re.IGNORECASE), "stop emailing"),
    (re.compile(r"\bplease\s+stop\b(?!\s+(?:by|in|over|at|the|our|your))|\bstop\s+please\b", re.IGNORECASE), "please stop"),
    (re.compile(r"\b(?:do not|don'?t|never)\s+(?:e-?mail|contact|write to|message)\s+(?:me|us)\b", re.IGNORECASE), "do not contact me"),
    (re.compile(r"\bno\s+more\s+(?:e-?mails|emails|messages)\b", re.IGNORECASE), "no more emails"),
    (re.compile(r"\b(?:off|from)\s+(?:your|the)\s+(?:mailing\s+|e-?mail\s+)?list\b", re.IGNORECASE), "off your list"),
]
# Said with a negation ("don't unsubscribe me", "no need to remove me"): a person decides.
_NEGATED_OPT_OUT = re.compile(_NEGATION + r"(?:unsubscribe|remove|take|opt|stop)\b", re.IGNORECASE)
# "stop" or "unsubscribe" said some other way: not a clear request, not nothing either.
_OPT_OUT_WORDS = re.compile(r"\b(?:stop|unsubscribe|unsub|opt[\s-]?out)\b", re.IGNORECASE)

_OUT_OF_OFFICE_SUBJECT = re.compile(
    r"\b(?:automatic reply|auto(?:matic)?[\s-]?reply|autoreply|out of (?:the )?office|ooo|abwesenheitsnotiz|absence|away from (?:the )?office|on vacation|on leave)\b",
    re.IGNORECASE,
)
_OUT_OF_OFFICE_BODY = re.compile(
    r"\b(?:out of (?:the )?office|I am (?:currently )?(?:away|out|travell?ing|on (?:vacation|holiday|leave|PTO))|"
    r"I'?m (?:currently )?(?:away|out of|travell?ing|on (?:vacation|holiday|leave|PTO))|"
    r"on (?:annual |parental |maternity |paternity )?leave until|limited access to (?:my )?e-?mail|"
    r"(?:will|I'?ll) be back (?:on|in|after)|(?:return|returning|back in the office) on|"
    r"automatic(?:ally)? (?:reply|generated|response)|auto-?reply)\b",
    re.IGNORECASE,
)
_NOT_NOW = re.compile(
    r"\b(?:not (?:right )?now|not at (?:this|the moment)|not (?:a )?(?:good|great|the right) time|bad timing|timing is(?:n'?t| not)|"
    r"maybe (?:later|next (?:year|quarter|month))|(?:reach|circle|check|touch|get) (?:back|out|base)(?: with (?:me|us))? (?:in|next|after|later|around)|"
    r"next (?:quarter|year)|in (?:a few|a couple of|\d+|two|three|six) (?:weeks|months)|(?:after|in) (?:Q[1-4]|january|february|march|april|may|june|july|august|september|october|november|december)|"
    r"no budget|budget (?:is )?(?:frozen|closed|spent)|already (?:committed|locked in)|revisit (?:this )?(?:later|in|next))\b",
    re.IGNORECASE,
)
_INTERESTED = re.compile(
    r"\b(?:interested|let'?s (?:talk|chat|connect|set up|schedule|do it|find a time)|(?:happy|glad|open|keen) to (?:talk|chat|connect|learn|hear|meet)|"
    r"tell me more|send (?:me |over )?(?:more )?(?:info|information|details|a deck)|sounds? (?:good|great|interesting)|"
    r"book (?:a|some) (?:time|call|meeting|demo)|(?:set up|schedule|grab) (?:a |some )?(?:call|time|meeting|demo|chat)|"
    r"what (?:times?|does your calendar)|when (?:are|is|would) you(?:r team)? (?:free|available)|my calendar|calendly|"
    r"(?:yes|sure|absolutely),? (?:let'?s|please|I'?d)|I'?d (?:love|like) to (?:learn|hear|see|talk|chat)|good timing|"
    r"times? (?:that )?(?:work|suits?)|(?:a|the) (?:quick|short|brief) (?:call|chat)|find (?:\d+ minutes|some time|a time))\b",
    re.IGNORECASE,
)
_NOT_INTERESTED = re.compile(
    r"\b(?:not interested|no interest|isn'?t (?:a fit|relevant|interesting)|not (?:a fit|relevant|for us)|no,? thanks?|no thank you|"
    r"wrong (?:person|contact)|no longer (?:with|at|works?)|left the company|not the right (?:person|contact)|we (?:already )?(?:use|have) )",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Verdict:
    """A reply's classification and the rule that gave it, in words a person can check."""

    classification: str
    reason: str


def classify(text: str, subject: str = "") -> Verdict:
    """Classify a reply by its own text (see the module docstring); the first matching rule wins.

    1. No text of the sender's own: unclassified.
    2. An opt-out request in the first OPT_OUT_LINES lines: opt-out, unless it is
       negated or the same lines say the sender is interested (unclassified: a
       person decides). An opt-out word further down: unclassified.
    3. Out of office (subject or text): out of office.
    4. Not now; then not interested / wrong person (other); then interested.
    5. Anything else: unclassified, for a person.
    """
    lines = own_lines(text)
    bare_subject = re.sub(r"^\s*(?:(?:re|aw|sv|fw|fwd|wg)\s*:\s*)+", "", subject or "", flags=re.IGNORECASE)
    if not lines and not bare_subject:
        return Verdict(Reply.Classification.UNCLASSIFIED, "no text of the sender's own")
    first = lines[:OPT_OUT_LINES]
    head = "\n".join(first)
    own = "\n".join(lines)
    # A subject that is nothing but "STOP" or "Unsubscribe" (not "Re: <our subject>") is the request itself.
    subject_opt_out = bool(bare_subject) and bare_subject == (subject or "").strip() and bool(_OPT_OUT[0][0].match(bare_subject))

    opt_out = next((label for pattern, label in _OPT_OUT for line in first if pattern.search(line)), "")
    if subject_opt_out and not opt_out:
        opt_out = "subject asks to stop"
    if opt_out:
        if _NEGATED_OPT_OUT.search(head):
            return Verdict(Reply.Classification.UNCLASSIFIED, f"ambiguous: opt-out words ({opt_out}) with a negation")
        if _INTERESTED.search(head) and not _NOT_INTERESTED.search(head):
            return Verdict(Reply.Classification.UNCLASSIFIED, f"ambiguous: opt-out ({opt_out}) and interest in the same lines")
        return Verdict(Reply.Classification.OPT_OUT, f"opt-out: {opt_out}")
    if _OPT_OUT_WORDS.search(own):
        if _OUT_OF_OFFICE_SUBJECT.search(bare_subject) or _OUT_OF_OFFICE_BODY.search(head):
            return Verdict(Reply.Classification.OUT_OF_OFFICE, "out of office")
        return Verdict(Reply.Classification.UNCLASSIFIED, "ambiguous: an opt-out word outside a clear request")
    if _OUT_OF_OFFICE_SUBJECT.search(bare_subject) or _OUT_OF_OFFICE_BODY.search(own):
        return Verdict(Reply.Classification.OUT_OF_OFFICE, "out of office")
    if _NOT_NOW.search(own):
        return Verdict(Reply.Classification.NOT_NOW, "not now")
    if _NOT_INTERESTED.search(own):
        return Verdict(Reply.Classification.OTHER, "not interested or not the right person")
    if _INTERESTED.search(own):
        return Verdict(Reply.Classification.INTERESTED, "interested")
    return Verdict(Reply.Classification.UNCLASSIFIED, "no rule matched")


# --- consequences -------------------------------------------------------------------


def apply_classification(reply: Reply, *, source: str, previous: str | None = None) -> None:
    """Give `reply`'s classification its consequences (see the module docstring); safe to call again.

    `source` names who classified it for the suppression history ("rules",
    or the person's username). `previous` is the classification a person
    changed: when that one counted as a reply and the new one does not, the
    lead stops counting as replied unless another of its replies still does.
    Runs in one transaction with the caller's.
    """
    # By ids: the lead and card rows are read only when a step needs them (a
    # suppression), which keeps a webhook's reply to a few short statements.
    lead_id = reply.lead_id
    now = timezone.now()
    # All or nothing with the caller's transaction; no savepoint of its own, as no caller goes on after a failure here.
    with transaction.atomic(savepoint=False):
        kind = event_kind(reply.classification)
        if reply.event_id:
            EmailEvent.objects.filter(pk=reply.event_id).update(kind=kind, detail=_event_detail(reply))
        else:
            reply.event = EmailEvent.objects.create(
                lead_id=lead_id,
                card_id=reply.card_id,
                kind=kind,
                delivery_id=reply.delivery_id,
                occurred_at=now,
                detail=_event_detail(reply),
            )
            Reply.objects.filter(pk=reply.pk).update(event=reply.event)
        if reply.classification == Reply.Classification.OPT_OUT:
            landed = f"reply {reply.pk} (STOP" + (f", GHL webhook delivery {reply.delivery_id})" if reply.delivery_id else ")")
            suppress_lead(reply.lead, reason="unsubscribed", source=f"reply {reply.pk} ({source})"[:100], landed=landed)
        if counts_as_reply(reply.classification):
            Lead.objects.filter(pk=lead_id, replied_at__isnull=True).update(replied_at=now, updated_at=now)
            # A reply ends the sequence: no further step goes to someone talking to us.
            Enrollment.objects.filter(lead_id=lead_id, status=Enrollment.Status.ACTIVE).update(
                status=Enrollment.Status.STOPPED, stop_reason="replied", stopped_at=now
            )
        elif previous is not None and counts_as_reply(previous) and not Reply.objects.filter(lead_id=lead_id).exclude(
            pk=reply.pk
        ).exclude(classification__in=list(EVENT_KIND)).exists():
            # No other reply of this lead counts as one: neither does the lead (an opt-out is an unsubscribe).
            Lead.objects.filter(pk=lead_id).update(replied_at=None, updated_at=now)
        if Reply.lead.is_cached(reply):
            # The caller's lead object shows what this changed (a lead not loaded yet is read fresh when used).
            reply.lead.refresh_from_db(fields=["replied_at", "unsubscribed_at"])


def _event_detail(reply: Reply) -> str:
    return f"reply {reply.pk}: {reply.get_classification_display().lower()}"[:255]


def record_inbound(reply: Reply) -> Verdict:
    """Classify a reply that has just arrived by the rules, store it with its verdict and apply it.

    A reply not saved yet is inserted with its verdict in one statement (an
    IntegrityError then means its message is already stored); a saved one
    has its verdict updated.
    """
    verdict = classify(reply.text, reply.subject)
    now = timezone.now()
    reply.classification = verdict.classification
    reply.classification_reason = verdict.reason[:255]
    reply.classified_at = now
    if reply._state.adding:
        reply.save(force_insert=True)
    else:
        reply.save(update_fields=["classification", "classification_reason", "classified_at"])
    apply_classification(reply, source="rules")
    return verdict


def reclassify(reply: Reply, classification: str, *, by) -> str:
    """A person sets `reply`'s classification; return what it changed, in words for the page.

    Refuses an unknown classification with ValueError. Moving to opt-out
    suppresses the lead; moving away from it leaves the suppression standing.
    """
    if classification not in Reply.Classification.values:
        raise ValueError(f"Unknown classification {classification!r}; use one of {', '.join(Reply.Classification.values)}.")
    previous = reply.classification
    with transaction.atomic():
        reply.classification = classification
        reply.classification_reason = f"set by {by.get_username()} (was {Reply.Classification(previous).label.lower()})"[:255]
        reply.classified_by = by
        reply.classified_at = timezone.now()
        reply.save(update_fields=["classification", "classification_reason", "classified_by", "classified_at"])
        apply_classification(reply, source=by.get_username(), previous=previous)
    said = f"Reply {reply.pk} is now {Reply.Classification(classification).label.lower()} (was {Reply.Classification(previous).label.lower()})."
    if classification == Reply.Classification.OPT_OUT:
        said += " The lead is suppressed everywhere, as by the unsubscribe link."
    elif previous == Reply.Classification.OPT_OUT and reply.lead.unsubscribed_at is not None:
        said += " The lead stays unsubscribed: lifting a suppression is a separate, deliberate change on the lead."
    return said


def mark_handled(replies, *, by) -> int:
    """Mark replies handled by `by`; return how many were not handled before."""
    return replies.filter(handled_at__isnull=True).update(handled_at=timezone.now(), handled_by=by)


def mark_not_handled(replies) -> int:
    """Put replies back in the inbox; return how many were handled before."""
    return replies.filter(handled_at__isnull=False).update(handled_at=None, handled_by=None)


def inbox_figures() -> dict[str, int]:
    """Counts the admin index shows: unhandled replies, and unhandled interested ones."""
    waiting = Reply.objects.filter(handled_at__isnull=True)
    return {
        "unhandled": waiting.count(),
        "interested": waiting.filter(classification=Reply.Classification.INTERESTED).count(),
        "unclassified": waiting.filter(classification=Reply.Classification.UNCLASSIFIED).count(),
    }

