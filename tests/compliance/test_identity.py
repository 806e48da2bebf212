"""compliance.identity: one canonical form per address and per domain."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from compliance.identity import canonical_domain, canonical_email, mailbox_key

FULL_WIDTH = str.maketrans({chr(c): chr(c - 0x21 + 0xFF01) for c in range(0x21, 0x7F)})


@pytest.mark.parametrize(
    "spelling, canonical",
    [
        ("name@competitor.example", "name@competitor.example"),
        ("  Name@Competitor.EXAMPLE  ", "name@competitor.example"),
        ("name@competitor.example.", "name@competitor.example"),
        ("name@competitor.example".translate(FULL_WIDTH), "name@competitor.example"),
        ("name@competitor\u3002example", "name@competitor.example"),
        ("anna@bücher.example", "anna@xn--bcher-kva.example"),
        ("ANNA@BÜCHER.EXAMPLE", "anna@xn--bcher-kva.example"),
        ("anna@XN--BCHER-KVA.example", "anna@xn--bcher-kva.example"),
        # NFKC before case folding: the Kelvin sign is a K.
        ("\u212aim@x.example", "kim@x.example"),
        # An address's host is where mail goes: www. is kept in an address.
        ("a@www.x.example", "a@www.x.example"),
        ("jdoe@straße.example", "jdoe@xn--strae-oqa.example"),
        ("jdoe@xn--strae-oqa.example", "jdoe@xn--strae-oqa.example"),
        ("jdoe@ΣΊΣΥΦΟΣ.example", "jdoe@xn--kxa6akbbkh.example"),
    ],
)
def test_it_gives_every_spelling_of_an_address_one_form(spelling, canonical):
    assert canonical_email(spelling) == canonical
    # Computed, not remembered: the remembered answers rely on this.
    assert canonical_email.__wrapped__(canonical) == canonical, "the canonical form is a fixed point"


@pytest.mark.parametrize(
    "spelling, canonical",
    [
        ("customer.example", "customer.example"),
        ("@Customer.Example", "customer.example"),
        (".customer.example.", "customer.example"),
        ("www.customer.example", "customer.example"),
        ("https://www.customer-two.com/path", "customer-two.com"),
        ("HTTP://WWW.Customer-Two.com:8080/a?b#c", "customer-two.com"),
        # IDNA 2008, non-transitional: ß and final ς are letters of their own, from either side.
        ("Straße.example", "xn--strae-oqa.example"),
        ("xn--strae-oqa.example", "xn--strae-oqa.example"),
        ("σίσυφος.example", "xn--kxa6ajbbmh.example"),
        ("XN--KXA6AJBBMH.example", "xn--kxa6ajbbmh.example"),
        ("bücher-kunde.example", "xn--bcher-kunde-thb.example"),
        ("xn--bcher-kunde-thb.example", "xn--bcher-kunde-thb.example"),
        ("customer.example".translate(FULL_WIDTH), "customer.example"),
        ("www.com", "www.com"),
    ],
)
def test_it_gives_every_spelling_of_a_domain_one_form(spelling, canonical):
    assert canonical_domain(spelling) == canonical
    assert canonical_domain(canonical) == canonical


@pytest.mark.parametrize(
    "char, name",
    [
        ("\u200b", "ZERO WIDTH SPACE"),
        ("\u200c", "ZERO WIDTH NON-JOINER"),
        ("\u200d", "ZERO WIDTH JOINER"),
        ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"),
        ("\u202e", "RIGHT-TO-LEFT OVERRIDE"),
        ("\u2066", "LEFT-TO-RIGHT ISOLATE"),
        ("\u00ad", "SOFT HYPHEN"),
        ("\u2060", "WORD JOINER"),
        ("\ufe0f", "VARIATION SELECTOR-16"),
        ("\x00", "unnamed character"),
    ],
)
@pytest.mark.parametrize("where", ["local", "domain"])
def test_it_refuses_invisible_characters_naming_them(char, name, where):
    address = f"na{char}me@competitor.example" if where == "local" else f"name@compe{char}titor.example"

    with pytest.raises(ValidationError) as refused:
        canonical_email(address)

    assert f"U+{ord(char):04X} ({name})" in refused.value.messages[0]
    if where == "domain":
        with pytest.raises(ValidationError):
            canonical_domain(address.partition("@")[2])


@pytest.mark.parametrize(
    "value, words",
    [
        ("", "missing"),
        ("name", "not an email address"),
        ("@competitor.example", "not an email address"),
        ("na me@x.example", "space"),
        ("anna@localhost", "not a domain name"),
        ("ännä@x.example", "before the @"),
        ("a@b_c.example", "“b_c” is refused"),
        ("a@xn--zz.example", "“xn--zz” is refused"),
    ],
)
def test_it_refuses_what_is_not_an_address_saying_why(value, words):
    with pytest.raises(ValidationError) as refused:
        canonical_email(value)
    assert words in refused.value.messages[0]



@pytest.mark.parametrize(
    "value, words",
    [
        ('"jdoe"@e2e-q.example', "Quoting the part before the @-sign is not allowed"),
        ("\uff02jdoe\uff02@e2e-q.example", "Quoting the part before the @-sign is not allowed"),
        ("jdoe(comment)@x.example", "invalid characters before the @-sign"),
        ("j..doe@x.example", "two periods in a row"),
    ],
)
def test_it_refuses_quoted_commented_and_obsolete_local_parts(value, words):
    with pytest.raises(ValidationError) as refused:
        canonical_email(value)
    assert words in refused.value.messages[0]


def test_a_sharp_s_domain_is_never_the_ss_domain():
    assert canonical_domain("straße.example") != canonical_domain("strasse.example")
    assert canonical_email("a@straße.example") != canonical_email("a@strasse.example")


@pytest.mark.parametrize(
    "value, refusal",
    [
        ("https://acme.example\\@other.example/", "backslash"),
        ("https://user:pw@acme.example/", "user name before its host"),
        ("https://acme.example@other.example/", "user name before its host"),
    ],
)
def test_a_pasted_url_with_userinfo_or_a_backslash_is_refused(value, refusal):
    with pytest.raises(ValidationError) as refused:
        canonical_domain(value)
    assert refusal in refused.value.messages[0]


@pytest.mark.parametrize(
    "spelling, key",
    [
        ("jdoe@x.example", "jdoe@x.example"),
        ("JDoe+promo@x.example", "jdoe@x.example"),
        ("j.doe@x.example", "j.doe@x.example"),
        ("j.doe@gmail.com", "jdoe@gmail.com"),
        ("J.Doe+news@googlemail.com", "jdoe@gmail.com"),
        ("jdoe@googlemail.com", "jdoe@gmail.com"),
    ],
)
def test_the_matching_key_folds_plus_tags_and_dot_blind_providers(spelling, key):
    assert mailbox_key(canonical_email(spelling)) == key
