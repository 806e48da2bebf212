"""The pure checks: one pass and the fail cases of each, no database."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance import checks
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
    findings = checks.run_all(good_facts())

    assert [f.id for f in findings] == [f"compliance.C{n:03d}" for n in range(1, 20)]
    assert all(f.passed and f.reason == "" for f in findings), [f for f in findings if not f.passed]


def test_it_gives_every_check_a_distinct_stable_id_and_name():
    findings = checks.run_all(good_facts())
    assert len({f.id for f in findings}) == len(findings)
    assert all(f.name for f in findings)


FAIL_CASES = [
    # (check, changes, words expected in the reason)
    (checks.check_opt_out, {"footer": FOOTER.replace("Reply STOP to unsubscribe.\n", "")}, "opt-out"),
    (checks.check_opt_out, {"footer": "", "body": BODY}, "Reply STOP"),
    (checks.check_opt_out, {"footer": "--\nReply HALT to unsubscribe.", "opt_out_line": "Reply HALT to opt out."}, "Reply HALT to opt out."),
    (checks.check_footer, {"footer": ""}, "missing"),
    (checks.check_footer, {"footer": FOOTER.replace("1 Main St, Austin, TX", "")}, "postal address"),
    (checks.check_footer, {"footer": FOOTER.replace("1:x", "2:y")}, "differs from the canonical"),
    (checks.check_placeholders, {"body": BODY.replace("Celia", "{{ lead.first_name }}")}, "{{"),
    (checks.check_placeholders, {"subject": "Quick question, [NAME]"}, "[NAME]"),
    (checks.check_placeholders, {"body": BODY.replace("Celia", "<FIRST NAME>")}, "<FIRST NAME>"),
    (checks.check_placeholders, {"body": BODY.replace("Celia", "%FIRSTNAME%")}, "%FIRSTNAME%"),
    (checks.check_placeholders, {"body": BODY.replace("Celia", "{first_name}")}, "{first_name}"),
    (checks.check_placeholders, {"body": BODY.replace("Celia", "{{}}")}, "{{"),
    (checks.check_signature, {"body": BODY.replace("\n\nBest,\nAlex Rivera", "")}, "sign-off"),
    (checks.check_signature, {"body": BODY.replace("\nAlex Rivera", "")}, "sign-off"),
    (checks.check_call_to_action, {"body": "Hi Celia,\n\nWe help teams like yours cut reporting time.\n\nBest,\nAlex"}, "call to action"),
    (checks.check_body_complete, {"body": ""}, "empty"),
    (checks.check_body_complete, {"body": "   \n\t "}, "empty"),
    (checks.check_body_complete, {"body": "Hi Celia, would"}, "truncated"),
    (checks.check_body_complete, {"body": BODY + "\n\nP.S. We also help with…"}, "truncated"),
    (checks.check_body_complete, {"body": BODY + "\n\nOne more thing,"}, "truncated"),
    (checks.check_body_complete, {"body": BODY.replace("half", "h\ufffdlf")}, "broken characters"),
    (checks.check_subject_present, {"subject": ""}, "empty"),
    (checks.check_subject_present, {"subject": "  "}, "empty"),
    (checks.check_subject_single_line, {"subject": "Hi\r\nBcc: everyone@example.com"}, "line break"),
    (checks.check_subject_single_line, {"subject": "Hi\u2028there"}, "line break"),
    (checks.check_subject_not_reply, {"subject": "Re: our call"}, "Re:/Fwd:"),
    (checks.check_subject_not_reply, {"subject": "FWD: pricing"}, "Re:/Fwd:"),
    (checks.check_subject_not_reply, {"subject": "  re[2]: pricing"}, "Re:/Fwd:"),
    (checks.check_subject_length, {"subject": "x" * 101}, "at most 100"),
    (checks.check_subject_length, {"subject": "Hi"}, "at least 3"),
    (checks.check_not_do_not_contact, {"do_not_contact": True, "do_not_contact_reason": "asked by phone"}, "asked by phone"),
    (checks.check_not_do_not_contact, {"on_do_not_contact_list": True}, "do-not-contact list"),
    (checks.check_not_unsubscribed, {"unsubscribed": True}, "unsubscribed"),
    (checks.check_not_bounced, {"bounced": True}, "bounced"),
    (checks.check_not_replied, {"replied": True}, "replied"),
    (checks.check_domain_not_excluded, {"lead_domains": ("customer.example",)}, "customer.example"),
    (checks.check_domain_not_excluded, {"lead_domains": ("eu.mail.customer.example",)}, "customer.example"),
    (checks.check_domain_not_excluded, {"lead_domains": ("acme.example", "customer.example")}, "customer.example"),
    (checks.check_not_already_contacted, {"already_contacted": True}, "already"),
    (checks.check_classifier, {"card_classifier": "outbound_tier_2"}, "expects 'outbound_tier_1'"),
    (checks.check_classifier, {"lead_tier": "tier_2"}, "campaign targets tier_1"),
    (
        checks.check_classifier,
        {"card_classifier": "inbound", "campaign_classifier": "inbound"},
        "does not name the lead's tier",
    ),
    (checks.check_campaign_ref, {"card_campaign_ref": "autumn"}, "'autumn'"),
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
        (checks.check_opt_out, {"footer": "", "body": BODY + "\n\nreply stop to unsubscribe"}),
        (checks.check_opt_out, {"opt_out_line": "Reply STOP to opt out."}),
        (checks.check_opt_out, {"opt_out_line": "Reply STOP to opt out.", "footer": FOOTER.replace("unsubscribe.", "opt out.")}),
        (checks.check_footer, {"expected_footer": ""}),
        (checks.check_signature, {"body": BODY.replace("Best,\nAlex Rivera", "Thanks again!\nAlex")}),
        (checks.check_signature, {"body": BODY.replace("Best,\nAlex Rivera", "— Alex")}),
        (checks.check_call_to_action, {"body": BODY.replace("Would you be open to a 15-minute call?", "Book a time on my calendar.")}),
        (checks.check_subject_not_reply, {"subject": "Re: our call", "step_number": 2}),
        (checks.check_subject_not_reply, {"subject": "Regarding your Q3 plans"}),
        (checks.check_domain_not_excluded, {"lead_domains": ("notcustomer.example",)}),
        (checks.check_domain_not_excluded, {"lead_domains": ("customer.example.org",)}),
        (checks.check_placeholders, {"body": BODY + "\n\nWe grew 20% last year; see <https://caio.example/case> or mail a@b.example."}),
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
    assert checks.find_placeholder(facts.body)
    assert not checks.check_placeholders(facts).passed


@given(text=SAFE_TEXT)
def test_it_never_flags_prose_without_merge_delimiters(text):
    assert checks.find_placeholder(text) == ""


# --- Property-based: the header-injection detector ---

BREAKERS = st.sampled_from(["\r", "\n", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00", "\t"])
SUBJECT_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Zl", "Zp", "Cs")), max_size=80)


@given(before=SUBJECT_TEXT, breaker=BREAKERS, after=SUBJECT_TEXT)
def test_it_flags_any_line_separator_in_a_subject(before, breaker, after):
    finding = checks.check_subject_single_line(good_facts(subject=f"{before}{breaker}{after}"))
    assert not finding.passed


@given(subject=st.text(max_size=80))
def test_it_flags_every_subject_python_would_split_into_lines(subject):
    # Whatever splits into two lines could start a second header.
    if len(f"x{subject}x".splitlines()) > 1:
        assert not checks.check_subject_single_line(good_facts(subject=subject)).passed


@given(subject=SUBJECT_TEXT)
def test_it_accepts_any_one_line_subject(subject):
    assert checks.check_subject_single_line(good_facts(subject=subject)).passed
