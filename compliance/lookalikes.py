"""Look-alike domains: a domain that mixes scripts, or reads as a rule's or another lead's domain.

`аcme.example` (a Cyrillic а) is another domain than `acme.example`: no rule
written for one matches the other, and a reader sees the same word. So such a
domain is shown in both forms with a warning, and its lead's cards wait until
a person confirms the lead (outreach.eligibility's "lookalike_domain" rule).

The scripts and the look-alike letters are Unicode's own data (UTS #39
confusables, through confusable_homoglyphs). Only domains with a punycode
label are read: an all-ASCII domain shows exactly what it is, and a large
import of plain domains pays nothing here.
"""

from __future__ import annotations

from collections.abc import Callable

from confusable_homoglyphs import categories, confusables
from django.apps import apps as installed_apps
from django.core.exceptions import ValidationError
from django.db.models import Q

from compliance.identity import canonical_domain, unicode_domain


def _scripts(label: str) -> list[str]:
    """The scripts of a label's letters, in order of first use (digits, '-' and the like are common to all)."""
    found: list[str] = []
    for char in label:
        script = categories.alias(char)
        if script not in ("COMMON", "INHERITED") and script not in found:
            found.append(script)
    return found


def latin_reading(domain: str) -> str:
    """The canonical domain a reader of `domain`'s Unicode form takes it for: each letter that looks like a
    Latin one read as that letter ('' when the reading is not a domain we accept)."""
    shown = unicode_domain(domain)
    read = []
    for char in shown:
        found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True) if not char.isascii() else False
        ascii_forms = [glyph["c"] for glyph in (found[0]["homoglyphs"] if found else []) if glyph["c"].isascii()]
        read.append(ascii_forms[0] if ascii_forms else char)
    try:
        return canonical_domain("".join(read))
    except ValidationError:
        return ""


def lookalike_warning(domain: str, *, known: Callable[[str], str]) -> str:
    """Why `domain` (canonical) is a look-alike, or '' when it is not.

    `known(domain)` names what a canonical domain is to us ("the do-not-contact
    domain acme.example", "lead 12's domain"), or ''.
    """
    if "xn--" not in domain:
        return ""
    shown = unicode_domain(domain)
    reasons = []
    mixed = [label for label in shown.split(".") if len(_scripts(label)) > 1]
    if mixed:
        reasons.append(f"“{mixed[0]}” mixes scripts ({' and '.join(s.title() for s in _scripts(mixed[0]))})")
    reading = latin_reading(domain)
    if reading and reading != domain:
        what = known(reading)
        if what:
            reasons.append(f"it reads as {reading}, {what}")
    if not reasons:
        return ""
    return f"The domain {shown} ({domain}) is a look-alike: {'; '.join(reasons)}."


def known_domain(domain: str, *, lead_pk: int | None, apps=installed_apps) -> str:
    """What a canonical domain is to us: a rule's domain, or another lead's (or a parent of it), or ''.

    `apps` is a migration's historical apps when a migration asks.
    """
    if apps.get_model("compliance", "ExcludedDomain").objects.filter(domain=domain).exists():
        return "an excluded domain"
    listed = apps.get_model("compliance", "DoNotContact").objects.filter(Q(domain=domain) | Q(email__endswith=f"@{domain}"))
    if listed.exists():
        return "a do-not-contact domain"
    forms = apps.get_model("outreach", "LeadDomainForm").objects.filter(domain=domain).exclude(lead_id=lead_pk)
    other = forms.values_list("lead_id", flat=True).first()
    return f"the domain of lead {other}" if other else ""


def lead_lookalike(domain: str, email_domain: str, *, lead_pk: int | None, apps=installed_apps) -> str | None:
    """The look-alike warning of a lead's company and address domains (canonical), or None."""
    warnings = [
        lookalike_warning(each, known=lambda seen: known_domain(seen, lead_pk=lead_pk, apps=apps))
        for each in dict.fromkeys((domain, email_domain))
    ]
    return " ".join(w for w in warnings if w)[:500] or None
