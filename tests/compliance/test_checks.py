"""The pure checks: one pass and the fail cases of each, no database."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance import checks as C
from compliance.checks import EmailFacts

FOOTER = "--\nReply STOP to unsubscribe.\nUnsubscribe: https://caio.example/unsubscribe/1:x/\nThe CAIO team\n1 Main St, Austin, TX"
BODY = "Hi Celia,\n\nWe help teams like yours cut reporting time in half.\n\nWould you be open to a 15-minute call?\n\nBest,\nAlex Rivera"


def good_facts(**changes) -> EmailFacts:
    facts = EmailFacts(
        subject="Quick question, Celia",
        body=BODY,
        footer=FOOTER,
        expected_footer=FOOTER,
        opt_out_line="Reply STOP to unsubscribe.",
        postal_address="1 Main St, Austin, TX",
        step_number=1,
        lead_email="celia@acme.example",
        lead_domains=("acme.example",),
        lead_tier="tier_1",
        excluded_domains=frozenset({"customer.example"}),
        card_classifier="outbound_tier_1",
        card_campaign_ref="spring",
        campaign_ref="spring",
        campaign_classifier="outbound_tier_1",
        campaign_tier="tier_1",
    )
    return dataclasses.replace(facts, **changes)


def test_it_passes_a_good_email_on_every_check():
    findings = C.run_all(good_facts())

    assert [f.id for f in findings] == [f"compliance.C{n:03d}" for n in range(1, 20)]
    assert all(f.passed and f.reason == "" for f in findings), [f for f in findings if not f.passed]


def test_it_gives_every_check_a_distinct_stable_id_and_name():
    findings = C.run_all(good_facts())
    assert len({f.id for f in findings}) == len(findings)
    assert all(f.name for f in findings)


FAIL_CASES = [
    # (check, changes, words expected in the reason)
    (C.check_opt_out, {"footer": FOOTER.replace("Reply STOP to unsubscribe.\n", "")}, "opt-out"),
    (C.check_opt_out, {"footer": "", "body": BODY}, "Reply STOP"),
    (C.check_opt_out, {"footer": "--\nReply HALT to unsubscribe.", "opt_out_line": "Reply HALT to opt out."}, "Reply HALT to opt out."),
    (C.check_footer, {"footer": ""}, "missing"),
    (C.check_footer, {"footer": FOOTER.replace("1 Main St, Austin, TX", "")}, "postal address"),
    (C.check_footer, {"footer": FOOTER.replace("1:x", "2:y")}, "differs from the canonical"),
    (C.check_placeholders, {"body": BODY.replace("Celia", "{{ lead.first_name }}")}, "{{"),
    (C.check_placeholders, {"subject": "Quick question, [NAME]"}, "[NAME]"),
    (C.check_placeholders, {"body": BODY.replace("Celia", "<FIRST NAME>")}, "<FIRST NAME>"),
    (C.check_placeholders, {"body": BODY.replace("Celia", "%FIRSTNAME%")}, "%FIRSTNAME%"),
    (C.check_placeholders, {"body": BODY.replace("Celia", "{first_name}")}, "{first_name}"),
    (C.check_placeholders, {"body": BODY.replace("Celia", "{{}}")}, "{{"),
    (C.check_signature, {"body": BODY.replace("\n\nBest,\nAlex Rivera", "")}, "sign-off"),
    (C.check_signature, {"body": BODY.replace("\nAlex Rivera", "")}, "sign-off"),
    (C.check_call_to_action, {"body": "Hi Celia,\n\nWe help teams like yours cut reporting time.\n\nBest,\nAlex"}, "call to action"),
    (C.check_body_complete, {"body": ""}, "empty"),
    (C.check_body_complete, {"body": "   \n\t "}, "empty"),
    (C.check_body_complete, {"body": "Hi Celia, would"}, "truncated"),
    (C.check_body_complete, {"body": BODY + "\n\nP.S. We also help with…"}, "truncated"),
    (C.check_body_complete, {"body": BODY + "\n\nOne more thing,"}, "truncated"),
    (C.check_body_complete, {"body": BODY.replace("half", "h\ufffdlf")}, "broken characters"),
    (C.check_subject_present, {"subject": ""}, "empty"),
    (C.check_subject_present, {"subject": "  "}, "empty"),
    (C.check_subject_single_line, {"subject": "Hi\r\nBcc: everyone@example.com"}, "line break"),
    (C.check_subject_single_line, {"subject": "Hi\u2028there"}, "line break"),
    (C.check_subject_not_reply, {"subject": "Re: our call"}, "Re:/Fwd:"),
    (C.check_subject_not_reply, {"subject": "FWD: pricing"}, "Re:/Fwd:"),
    (C.check_subject_not_reply, {"subject": "  re[2]: pricing"}, "Re:/Fwd:"),
    (C.check_subject_length, {"subject": "x" * 101}, "at most 100"),
    (C.check_subject_length, {"subject": "Hi"}, "at least 3"),
    (C.check_not_do_not_contact, {"do_not_contact": True, "do_not_contact_reason": "asked by phone"}, "asked by phone"),
    (C.check_not_do_not_contact, {"on_do_not_contact_list": True}, "do-not-contact list"),
    (C.check_not_unsubscribed, {"unsubscribed": True}, "unsubscribed"),
    (C.check_not_bounced, {"bounced": True}, "bounced"),
    (C.check_not_replied, {"replied": True}, "replied"),
    (C.check_domain_not_excluded, {"lead_domains": ("customer.example",)}, "customer.example"),
    (C.check_domain_not_excluded, {"lead_domains": ("eu.mail.customer.example",)}, "customer.example"),
    (C.check_domain_not_excluded, {"lead_domains": ("acme.example", "customer.example")}, "customer.example"),
    (C.check_not_already_contacted, {"already_contacted": True}, "already"),
    (C.check_classifier, {"card_classifier": "outbound_tier_2"}, "expects 'outbound_tier_1'"),
    (C.check_classifier, {"lead_tier": "tier_2"}, "campaign targets tier_1"),
    (
        C.check_classifier,
        {"card_classifier": "inbound", "campaign_classifier": "inbound"},
        "does not name the lead's tier",
    ),
    (C.check_campaign_ref, {"card_campaign_ref": "autumn"}, "'autumn'"),
]


@pytest.mark.parametrize(("check", "changes", "words"), FAIL_CASES, ids=lambda v: getattr(v, "__name__", None))
def test_it_fails_each_check_with_a_reason(check, changes, words):
    assert check(good_facts()).passed

    finding = check(good_facts(**changes))

    assert not finding.passed
    assert words in finding.reason


@pytest.mark.parametrize(
    ("check", "changes"),
    [
        (C.check_opt_out, {"footer": "", "body": BODY + "\n\nreply stop to unsubscribe"}),
        (C.check_opt_out, {"opt_out_line": "Reply STOP to opt out."}),
        (C.check_opt_out, {"opt_out_line": "Reply STOP to opt out.", "footer": FOOTER.replace("unsubscribe.", "opt out.")}),
        (C.check_footer, {"expected_footer": ""}),
        (C.check_signature, {"body": BODY.replace("Best,\nAlex Rivera", "Thanks again!\nAlex")}),
        (C.check_signature, {"body": BODY.replace("Best,\nAlex Rivera", "— Alex")}),
        (C.check_call_to_action, {"body": BODY.replace("Would you be open to a 15-minute call?", "Book a time on my calendar.")}),
        (C.check_subject_not_reply, {"subject": "Re: our call", "step_number": 2}),
        (C.check_subject_not_reply, {"subject": "Regarding your Q3 plans"}),
        (C.check_domain_not_excluded, {"lead_domains": ("notcustomer.example",)}),
        (C.check_domain_not_excluded, {"lead_domains": ("customer.example.org",)}),
        (C.check_placeholders, {"body": BODY + "\n\nWe grew 20% last year; see <https://caio.example/case> or mail a@b.example."}),
    ],
)
def test_it_passes_the_close_calls(check, changes):
    finding = check(good_facts(**changes))
    assert finding.passed, finding.reason


# --- Property-based: the placeholder detector ---

IDENTIFIER = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
UPPER_WORDS = st.from_regex(r"[A-Z][A-Z_ ]{0,15}[A-Z]", fullmatch=True)
PLACEHOLDER = st.one_of(
    IDENTIFIER.map(lambda n: "{{%s}}" % n),
    IDENTIFIER.map(lambda n: "{{ lead.%s }}" % n),
    IDENTIFIER.map(lambda n: "{%s}" % n),
    IDENTIFIER.map(lambda n: "${%s}" % n),
    IDENTIFIER.map(lambda n: "%%%s%%" % n),
    IDENTIFIER.map(lambda n: "[[%s]]" % n),
    IDENTIFIER.map(lambda n: "*|%s|*" % n.upper()),
    UPPER_WORDS.map(lambda n: "[%s]" % n),
    UPPER_WORDS.map(lambda n: "<%s>" % n),
    UPPER_WORDS.map(lambda n: "__%s__" % n.replace(" ", "_")),
    st.sampled_from(["{{ }}", "{{}}", "{% if x %}", "{{", "}}", "<<first name>>"]),
)
# Ordinary prose never uses the delimiters of a merge field.
SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_characters="{}[]<>%|*_$#", blacklist_categories=("Cs",)), max_size=200
)


@given(before=SAFE_TEXT, placeholder=PLACEHOLDER, after=SAFE_TEXT)
def test_it_finds_a_placeholder_wherever_it_stands(before, placeholder, after):
    facts = good_facts(body=f"{before}{placeholder}{after}")
    assert C.find_placeholder(facts.body)
    assert not C.check_placeholders(facts).passed


@given(text=SAFE_TEXT)
def test_it_never_flags_prose_without_merge_delimiters(text):
    assert C.find_placeholder(text) == ""


# --- Property-based: the header-injection detector ---

BREAKERS = st.sampled_from(["\r", "\n", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00", "\t"])
SUBJECT_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Zl", "Zp", "Cs")), max_size=80)


@given(before=SUBJECT_TEXT, breaker=BREAKERS, after=SUBJECT_TEXT)
def test_it_flags_any_line_separator_in_a_subject(before, breaker, after):
    finding = C.check_subject_single_line(good_facts(subject=f"{before}{breaker}{after}"))
    assert not finding.passed


@given(subject=st.text(max_size=80))
def test_it_flags_every_subject_python_would_split_into_lines(subject):
    # Whatever splits into two lines could start a second header.
    if len(f"x{subject}x".splitlines()) > 1:
        assert not C.check_subject_single_line(good_facts(subject=subject)).passed


@given(subject=SUBJECT_TEXT)
def test_it_accepts_any_one_line_subject(subject):
    assert C.check_subject_single_line(good_facts(subject=subject)).passed
