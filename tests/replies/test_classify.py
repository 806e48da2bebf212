"""The reply rules on realistic texts: what the sender wrote above the quote decides."""

from __future__ import annotations

import pytest

from outreach.inbound.replies import classify, own_lines

OUR_EMAIL_QUOTED = (
    "On Tue, Mar 3, 2026 at 10:02 AM Alex Rivera <alex@caio.example> wrote:\n"
    "> Hi Celia,\n> Would you be open to a 15-minute call next Tuesday?\n>\n"
    "> Reply STOP to unsubscribe, or use https://caio.example/unsubscribe/abc/\n"
)
GMAIL_HTML_QUOTE = (
    '<div dir="ltr">{top}</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
    "On Tue, Mar 3, 2026 at 10:02 AM Alex Rivera &lt;alex@caio.example&gt; wrote:<br></div>"
    '<blockquote class="gmail_quote">Hi Celia,<br>Reply STOP to unsubscribe.<br>'
    "Unsubscribe: https://caio.example/unsubscribe/abc/</blockquote></div>"
)
OUTLOOK_QUOTE = (
    "{top}\n\n________________________________\nFrom: Alex Rivera <alex@caio.example>\nSent: Tuesday, March 3, 2026 10:02\n"
    "To: Celia Kettering\nSubject: Cutting reporting time\n\nReply STOP to unsubscribe.\n"
)

# (what the lead sent, subject, expected classification)
CASES = [
    # Opt-outs: the word alone, in any case, or the request in words.
    ("STOP", "Re: Cutting reporting time", "opt_out"),
    ("stop", "", "opt_out"),
    ("Stop.", "", "opt_out"),
    ("STOP!!!", "", "opt_out"),
    ("  Stop please\n\n" + OUR_EMAIL_QUOTED, "Re: Hello", "opt_out"),
    ("Unsubscribe", "Re: Hello", "opt_out"),
    ("UNSUBSCRIBE ME", "", "opt_out"),
    ("Please unsubscribe me from this list.\n\nThanks,\nCelia", "", "opt_out"),
    ("Remove me from your list", "", "opt_out"),
    ("please remove my email from your database", "", "opt_out"),
    ("Take me off your mailing list.", "", "opt_out"),
    ("Kindly take me off this list, thanks", "", "opt_out"),
    ("Opt me out", "", "opt_out"),
    ("opt-out", "", "opt_out"),
    ("Please stop emailing me.", "", "opt_out"),
    ("Stop sending me these emails", "", "opt_out"),
    ("Do not contact me again.", "", "opt_out"),
    ("No more emails please", "", "opt_out"),
    ("Hi Alex,\n\nNot interested. Please remove me.\n\nCelia", "", "opt_out"),
    (GMAIL_HTML_QUOTE.format(top="Stop"), "Re: Hello", "opt_out"),
    ("<p>STOP</p>", "Re: Hello", "opt_out"),
    (OUTLOOK_QUOTE.format(top="Unsubscribe me please"), "RE: Cutting reporting time", "opt_out"),
    ("", "Unsubscribe", "opt_out"),
    ("STOP\n\nSent from my iPhone", "", "opt_out"),
    # Quoted history or a signature that says "unsubscribe" does not count.
    ("Sounds good, let's talk Thursday.\n\n" + OUR_EMAIL_QUOTED, "Re: Hello", "interested"),
    (GMAIL_HTML_QUOTE.format(top="Thanks for reaching out, I'm interested. What times work?"), "Re: Hello", "interested"),
    (OUTLOOK_QUOTE.format(top="Can you send me more info?"), "RE: Cutting reporting time", "interested"),
    ("Yes, happy to chat.\n--\nCelia Kettering\nTo unsubscribe from our newsletter click here", "", "interested"),
    (OUR_EMAIL_QUOTED, "Re: Hello", "unclassified"),
    # Ambiguous: kept for a person.
    ("Don't unsubscribe me, I'm interested - just wrong address. Use celia@acme.example", "", "unclassified"),
    ("I'm interested but please stop sending to this address, use my other one", "", "unclassified"),
    ("We had to stop the project last year. Who told you about it?", "", "unclassified"),
    ("Hi,\nthanks.\nLine three.\nLine four.\nLine five.\nLine six.\nAnd please unsubscribe me", "", "unclassified"),
    ("Who is this?", "", "unclassified"),
    ("Please stop by our booth at SMX next week and we can chat.", "", "unclassified"),
    # Out of office: the sequence goes on.
    ("I am out of the office until March 10 with limited access to email.", "Automatic reply: Cutting reporting time", "out_of_office"),
    ("Thank you for your email. I'm currently on vacation and will be back on Monday.", "", "out_of_office"),
    ("Hello, I'm away until 12 March. For urgent matters contact ops@acme.example.", "Out of Office: Hello", "out_of_office"),
    ("<p>I am on parental leave until June. To stop receiving this auto-reply, do nothing.</p>", "Auto-Reply", "out_of_office"),
    # Not now.
    ("Not right now, we're mid-migration. Check back in Q3.", "", "not_now"),
    ("Timing isn't great. Reach out in a few months?", "", "not_now"),
    ("Interesting, but no budget this year. Maybe next quarter.", "", "not_now"),
    ("Can you circle back in January?", "", "not_now"),
    # Interested.
    ("Yes, let's talk.", "", "interested"),
    ("<p>Yes, let us talk. Send me a calendly link.</p>", "", "interested"),
    ("Tell me more - how does it work with Google Ads?", "", "interested"),
    ("Sure, let's set up a call. What does your calendar look like Tuesday?", "", "interested"),
    ("I'd love to learn more.", "", "interested"),
    ("Good timing, we were just looking at this. Can you send over some times that work for a quick call?", "", "interested"),
    ("Hi, thanks for reaching out. This sounds interesting - could we find 20 minutes next week to talk it through?", "", "interested"),
    ("Yes, I'd like to learn more. What would a pilot look like for a team of our size?", "", "interested"),
    ("Thanks, but not right now. We just signed for this year; please check back with me next quarter.", "", "not_now"),
    ("Not a priority for us at the moment. Maybe reach out again in six months.", "", "not_now"),
    ("We're in the middle of a reorg, so the timing is bad. Circle back in the new year?", "", "not_now"),
    ("Automatic reply: I'm currently on leave and will respond when I return next week.", "", "out_of_office"),
    ("Unsubscribe. Do not email me again.", "", "opt_out"),
    ("Please remove me from your mailing list.", "", "opt_out"),
    # Other: a clear answer that is none of the above.
    ("Not interested, thanks.", "", "other"),
    ("No thanks.", "", "other"),
    ("I'm no longer with Acme; try jane@acme.example.", "", "other"),
    ("Wrong person, sorry.", "", "other"),
]


@pytest.mark.parametrize(("text", "subject", "expected"), CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_a_reply_is_classified_by_what_its_sender_wrote(text, subject, expected):
    verdict = classify(text, subject)
    assert verdict.classification == expected, verdict.reason


def test_the_sender_text_stops_at_the_quote_and_the_signature():
    assert own_lines("Sounds good.\n\n" + OUR_EMAIL_QUOTED) == ["Sounds good."]
    assert own_lines(GMAIL_HTML_QUOTE.format(top="Yes<br>Tuesday")) == ["Yes", "Tuesday"]
    assert own_lines(OUTLOOK_QUOTE.format(top="OK")) == ["OK"]
    assert own_lines("Fine\n-- \nCelia\nUnsubscribe") == ["Fine"]
    # Gmail wraps a long attribution line: "On ..." then "wrote:" on its own line.
    assert own_lines("Later.\n\nOn Tue, Mar 3, 2026 at 10:02 AM Alex Rivera <\nalex@caio.example> wrote:\n> STOP") == ["Later."]


def test_every_verdict_says_which_rule_gave_it():
    assert classify("STOP").reason == "opt-out: asks to stop"
    assert classify("Reply", "").reason == "no rule matched"
