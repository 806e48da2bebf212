"""One canonical form for an email address and for a domain, and one matching key per mailbox.

Suppression compares identities, so two spellings of one mailbox or one
domain must become one string before anything stores, compares or looks them
up. Addresses are read by email-validator (quoted local parts, comments and
obsolete syntax are refused, not guessed at); domains by IDNA 2008 with the
UTS 46 mapping, non-transitional, the same way from Unicode and from
punycode, so "straße" and "xn--strae-oqa" are one domain (never "strasse"),
and a pasted URL by a WHATWG URL parser (ada). Characters a reader cannot see (zero-width spaces and joiners, BOM, bidi
controls, other format and control characters) are refused, not removed:
IDNA would silently drop some of them and deliver the mail to the very
mailbox a rule names, and a person deserves to know their file carries them.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import ada_url
import idna
from django.core.exceptions import ValidationError
from email_validator import EmailNotValidError, validate_email

# Default-ignorable code points that are not in a "C" category yet show nothing
# (Unicode's DerivedCoreProperties, Default_Ignorable_Code_Point).
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xE0000, 0xE0FFF),  # tags and supplementary variation selectors
)
# Full stops IDNA treats as label separators; NFKC leaves the ideographic one alone.
_DOT_LOOKALIKES = str.maketrans({"\u3002": ".", "\uff61": ".", "\uff0e": "."})
_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
# Providers that deliver every dotted spelling of a local part to one mailbox, under either domain: one list.
DOT_BLIND_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def is_invisible(char: str) -> bool:
    """True for a character that shows nothing or steers layout: format (Cf), control (Cc),
    line and paragraph separators, private use, unassigned and other default-ignorables."""
    if unicodedata.category(char) in ("Cf", "Cc", "Zl", "Zp", "Co", "Cn", "Cs"):
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def describe_char(char: str) -> str:
    """Return e.g. 'U+200B (ZERO WIDTH SPACE)'."""
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'unnamed character')})"


def find_invisible(value: str) -> tuple[int, str] | None:
    """Return (position counted from 1, character) of the first invisible character, or None."""
    for index, char in enumerate(value):
        if is_invisible(char):
            return index + 1, char
    return None


def _refuse_invisible(value: str, what: str) -> None:
    found = find_invisible(value)
    if found:
        position, char = found
        raise ValidationError(
            f"{what} {value!r} contains the invisible character {describe_char(char)} at position {position}; "
            "retype it without that character."
        )


def _to_ascii_domain(host: str, original: str) -> str:
    """Return `host` (already NFKC) in its IDNA (punycode) form, or refuse it.

    UTS 46 maps case and compatibility forms but keeps ß and ς (non-transitional,
    as IDNA 2008 has them): folding them to ss and σ would store, and send to,
    another domain than the one typed. A punycode label is decoded and encoded
    again, so it reaches the same form as its Unicode spelling.
    """
    host = host.translate(_DOT_LOOKALIKES).rstrip(".")
    if not host:
        raise ValidationError(f"{original!r} has no domain name (expected something like customer.com).")
    if any(char.isspace() for char in host):
        raise ValidationError(f"{original!r} has a space in its domain name.")
    labels = host.split(".")
    if len(labels) < 2 or any(not label for label in labels):
        raise ValidationError(f"{original!r} is not a domain name (expected something like customer.com).")
    ascii_labels = []
    for label in labels:
        try:
            mapped = idna.uts46_remap(label, std3_rules=True, transitional=False)
            if mapped.startswith("xn--"):
                mapped = idna.decode(mapped)
            ascii_label = idna.encode(mapped).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise ValidationError(f"{original!r} is not a valid domain name: the part “{label}” is refused ({exc}).") from None
        if not _LABEL_RE.match(ascii_label):
            raise ValidationError(f"{original!r} is not a valid domain name: the part “{label}” is not allowed.")
        ascii_labels.append(ascii_label)
    domain = ".".join(ascii_labels)
    if len(domain) > 253:
        raise ValidationError(f"{original!r} is longer than a domain name may be (253 characters).")
    return domain


def _fold(value: str, what: str) -> str:
    """NFKC only: full-width letters and at signs become plain ones. Case is left to each
    part's own rule (the domain's to UTS 46, which keeps ß; the local part's to lower())."""
    text = (value or "").strip()
    _refuse_invisible(text, what)
    return unicodedata.normalize("NFKC", text)


# Pure functions of a string, called several times per row of a large import (the row, the model's
# clean and save): remembering recent answers makes the repeats free. A refusal raises, so it is never remembered.
IDENTITY_CACHE_SIZE = 50_000


def _remembered(*, canonical_is_fixed_point: bool):
    def decorate(function):
        answers: dict[str, str] = {}

        @functools.wraps(function)
        def remembered(value: str) -> str:
            try:
                return answers[value]
            except (KeyError, TypeError):
                pass
            answer = function(value)
            if len(answers) >= IDENTITY_CACHE_SIZE:
                answers.clear()
            if isinstance(value, str):
                answers[value] = answer
            if canonical_is_fixed_point:
                # The model asks again for the form it stores (test_identity proves it is its own answer).
                answers[answer] = answer
            return answer

        remembered.cache_clear = answers.clear
        return remembered

    return decorate


def ascii_domain(domain: str) -> str:
    """Return a mail domain as it travels in a header: its IDNA 2008 ASCII form, read as every
    domain here is read (UTS 46, ß kept); raise ValidationError. Unlike canonical_domain,
    nothing is removed: this is an address we send from, not a company we match."""
    return _to_ascii_domain(_fold(domain, "The domain"), domain)


# Not a fixed point: "www.www.x.example" loses one "www." per call.
@_remembered(canonical_is_fixed_point=False)
def canonical_domain(value: str) -> str:
    """Return the canonical form of a domain, or raise ValidationError naming what is wrong.

    Accepts what people paste: "@Customer.com", ".customer.com", "https://www.customer.com/path",
    "Bücher.example" (stored as xn--bcher-kva.example). A leading "www." is removed: the
    company is the domain, not its web server.
    """
    text = _fold(value, "The domain")
    if "\\" in text:
        # Browsers read a backslash as a slash in a URL and some parsers do not: such a paste names two hosts.
        raise ValidationError(f"{value!r} contains a backslash; type the domain alone (e.g. customer.com).")
    if _SCHEME_RE.match(text):
        try:
            url = ada_url.URL(text)
        except ValueError:
            raise ValidationError(f"{value!r} is not a web address we can read; type the domain alone (e.g. customer.com).") from None
        if url.username or url.password:
            raise ValidationError(
                f"{value!r} has a user name before its host (the part before @): type the domain alone (e.g. customer.com)."
            )
        host = url.hostname
    else:
        host = re.split(r"[/?#]", text, maxsplit=1)[0]
        host = host.rpartition("@")[2]  # "@customer.com" or "*@customer.com"
        host = re.sub(r":\d*$", "", host)  # a port
    host = host.lstrip(".")
    domain = _to_ascii_domain(host, value)
    if domain.startswith("www.") and domain.count(".") >= 2:
        domain = domain[len("www."):]
    return domain


@_remembered(canonical_is_fixed_point=True)
def canonical_email(value: str) -> str:
    """Return the canonical form of an email address, or raise ValidationError naming what is wrong.

    NFKC, the domain in IDNA form (as canonical_domain reads it) without a
    trailing dot, the local part checked by email-validator and lower-cased.
    Quoted local parts, comments and other obsolete syntax are refused: they
    are one more spelling of a plain mailbox, or not one we can send to. The
    local part is kept whole here (the address we send to); `mailbox_key`
    folds what providers ignore.
    """
    text = _fold(value, "The email address")
    if not text:
        raise ValidationError("The email address is missing.")
    local, at, host = text.rpartition("@")
    if not at or not local:
        raise ValidationError(f"{value!r} is not an email address (expected something like name@customer.com).")
    if any(char.isspace() for char in local):
        raise ValidationError(f"{value!r} has a space in the part before the @.")
    if not local.isascii():
        raise ValidationError(f"{value!r} has characters other than plain letters, digits and .-_+ before the @; we cannot send to it.")
    domain = _to_ascii_domain(host, value)
    try:
        # test_environment: .test addresses (RFC 2606) are the demo's and the tests' own.
        checked = validate_email(f"{local}@{domain}", check_deliverability=False, allow_smtputf8=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValidationError(f"{value!r} is not a valid email address: {exc}") from None
    return f"{checked.local_part.lower()}@{domain}"


def mailbox_key(canonical: str) -> str:
    """Return the matching key of a canonical address: one string for every spelling that reaches one mailbox.

    A plus tag is dropped (jdoe+promo@ is jdoe@); at a dot-blind provider
    (DOT_BLIND_DOMAINS) the dots are dropped too and its domains are one.
    Do-not-contact, opt-outs, bounces, complaints and duplicates compare keys;
    sending uses the address as approved.
    """
    local, _, domain = canonical.rpartition("@")
    untagged = local.split("+", 1)[0] or local
    if domain in DOT_BLIND_DOMAINS:
        return f"{untagged.replace('.', '') or untagged}@{DOT_BLIND_DOMAINS[domain]}"
    return f"{untagged}@{domain}"


def key_of(value: str) -> str | None:
    """The matching key of any spelling of an address, or None when it is not one we accept."""
    try:
        return mailbox_key(canonical_email(value))
    except ValidationError:
        return None


def opt_out_email(value: str) -> str | None:
    """The canonical address an opt-out names, or None when it names none we can read.

    As `canonical_email`, except that a local part quoted without need
    ("jdoe"@, also with full-width quotes) is read as its plain spelling:
    entry refuses such a spelling, but an opt-out is never lost to it.
    """
    try:
        return canonical_email(value)
    except ValidationError:
        pass
    try:
        text = _fold(value, "The email address")
        plain = validate_email(text, check_deliverability=False, allow_quoted_local=True, allow_smtputf8=False, test_environment=True)
    except (ValidationError, EmailNotValidError):
        return None
    if plain.local_part.startswith('"'):
        return None
    try:
        return canonical_email(plain.normalized)
    except ValidationError:
        return None


def unicode_domain(domain: str) -> str:
    """The Unicode form of a canonical domain (its punycode labels decoded), as a reader sees it."""
    try:
        return idna.decode(domain)
    except (idna.IDNAError, UnicodeError):
        return domain


def both_forms(domain: str) -> str:
    """A canonical domain as a person should see it: "аcme.example (xn--cme-5cd.example)" when the two differ."""
    shown = unicode_domain(domain)
    return domain if shown == domain else f"{shown} ({domain})"


def email_domain_of(canonical: str) -> str:
    """Return the domain of an address already in canonical form."""
    return canonical.rpartition("@")[2]

