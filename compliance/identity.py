"""One canonical form for an email address and for a domain.

Suppression compares identities, so two spellings of one mailbox or one
domain must become one string before anything stores, compares or looks them
up. Characters a reader cannot see (zero-width spaces and joiners, BOM, bidi
controls, other format and control characters) are refused, not removed:
IDNA would silently drop some of them and deliver the mail to the very
mailbox a rule names, and a person deserves to know their file carries them.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import idna
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

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
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://")


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
    """Return `host` (already NFKC and case-folded) in its IDNA (punycode) form, or refuse it."""
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
            # uts46 maps what NFKC left (e.g. final sigma); a punycode label is checked by decoding it.
            ascii_label = idna.encode(label, uts46=True).decode("ascii").lower()
            if ascii_label.startswith("xn--"):
                idna.decode(ascii_label)
        except idna.IDNAError as exc:
            raise ValidationError(f"{original!r} is not a valid domain name: the part “{label}” is refused ({exc}).") from None
        if not _LABEL_RE.match(ascii_label):
            raise ValidationError(f"{original!r} is not a valid domain name: the part “{label}” is not allowed.")
        ascii_labels.append(ascii_label)
    domain = ".".join(ascii_labels)
    if len(domain) > 253:
        raise ValidationError(f"{original!r} is longer than a domain name may be (253 characters).")
    return domain


def _fold(value: str, what: str) -> str:
    text = (value or "").strip()
    _refuse_invisible(text, what)
    return unicodedata.normalize("NFKC", text).casefold()


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


# Not a fixed point: "www.www.x.example" loses one "www." per call.
@_remembered(canonical_is_fixed_point=False)
def canonical_domain(value: str) -> str:
    """Return the canonical form of a domain, or raise ValidationError naming what is wrong.

    Accepts what people paste: "@Customer.com", ".customer.com", "https://www.customer.com/path",
    "Bücher.example" (stored as xn--bcher-kva.example). A leading "www." is removed: the
    company is the domain, not its web server.
    """
    text = _fold(value, "The domain")
    host = _SCHEME_RE.sub("", text)
    host = re.split(r"[/?#]", host, maxsplit=1)[0]
    host = host.rpartition("@")[2]  # "@customer.com" or a URL's user@host
    host = re.sub(r":\d*$", "", host)  # a port
    host = host.lstrip(".")
    domain = _to_ascii_domain(host, value)
    if domain.startswith("www.") and domain.count(".") >= 2:
        domain = domain[len("www."):]
    return domain


@_remembered(canonical_is_fixed_point=True)
def canonical_email(value: str) -> str:
    """Return the canonical form of an email address, or raise ValidationError naming what is wrong.

    NFKC, case folded, the domain in IDNA form without a trailing dot. The
    local part is kept whole (no dot or plus-tag folding: that is one
    provider's habit, not a rule of email).
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
    email = f"{local}@{_to_ascii_domain(host, value)}"
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(f"{value!r} is not a valid email address.") from None
    return email


def email_domain_of(canonical: str) -> str:
    """Return the domain of an address already in canonical form."""
    return canonical.rpartition("@")[2]

