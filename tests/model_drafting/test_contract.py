"""The output contract of model drafts (outreach.drafting.contract): pure rules, judged on plain values."""

from __future__ import annotations

from outreach.drafting.contract import checked_tokens, contract_failures, fact_sheet, grounding_failures
from tests.model_drafting.conftest import FACTS, OFFER, PROOF, TONE, fact_id

LEAD = {"first_name": "Celia", "last_name": "Kettering", "full_name": "Celia Kettering", "company": "Wpromote", "title": "VP Marketing"}
SHEET = fact_sheet(LEAD, "Alex Rivera", FACTS)
BODY = (
    "Hi Celia,\n\nI am writing because Wpromote looks like a team we could help. "
    "Northwind cut review time by 40% in its first month.\n\nWould a short call next week be useful?\n\nBest,\nAlex Rivera"
)
CLAIMS = [{"text": "Wpromote", "fact": "lead.company"}, {"text": "Northwind cut review time by 40% in its first month", "fact": PROOF}]


def test_the_sheet_numbers_campaign_facts_and_keeps_lead_fields():
    ids = {fact.id: fact.kind for fact in SHEET}
    assert ids["lead.company"] == "lead" and ids["sender.name"] == "sender"
    assert [ids[fact_id(line)] for line in FACTS.splitlines()] == ["offer", "proof", "tone", "forbidden"]
    assert PROOF.startswith("proof-") and fact_id("proof: another line") != PROOF


def test_a_grounded_draft_passes():
    assert contract_failures("A question for Wpromote", BODY, CLAIMS, facts=SHEET) == []


def test_tokens_are_numbers_and_capitalised_words_but_not_common_openers():
    tokens = checked_tokens("Thanks for reading. Acme raised $2,000,000 in March 2026, said our VP.")
    assert tokens == ["2000000", "2026", "acme", "march", "vp"]


def test_an_invented_number_or_name_is_ungrounded():
    body = BODY.replace("Would", "Globex closed a $40M Series B. Would")
    failures = grounding_failures("A question for Wpromote", body, CLAIMS, SHEET)
    assert failures and "globex" in failures[-1] and "40m" in failures[-1] and "series" in failures[-1]


def test_a_claim_must_rest_on_the_fact_it_cites():
    claims = [CLAIMS[0], {"text": "Northwind cut review time by 40% in its first month", "fact": OFFER}]
    failures = grounding_failures("A question for Wpromote", BODY, claims, SHEET)
    assert any(f"is not in its fact {OFFER}" in failure for failure in failures)


def test_a_claim_citing_guidance_or_nothing_is_refused():
    for fact in (TONE, "C9"):
        claims = [CLAIMS[0], {"text": "Northwind cut review time by 40% in its first month", "fact": fact}]
        assert any("not a fact on the sheet" in f for f in grounding_failures("A question for Wpromote", BODY, claims, SHEET))


def test_banned_phrases_global_campaign_and_forbidden_facts():
    for phrase, campaign_phrases in (("I hope this email finds you well.", ()), ("Let us circle up.", ("circle up",)), ("Guaranteed results.", ())):
        body = BODY.replace("Hi Celia,\n\n", f"Hi Celia,\n\n{phrase} ")
        failures = contract_failures("A question for Wpromote", body, CLAIMS, facts=SHEET, campaign_phrases=campaign_phrases)
        assert any(f.startswith("banned phrase") for f in failures), failures


def test_a_discount_is_refused_unless_a_cited_fact_states_it():
    body = BODY.replace("Would", "We can offer a discount. Would")
    assert any("price or discount promise" in f for f in contract_failures("A question for Wpromote", body, CLAIMS, facts=SHEET))
    sheet = fact_sheet(LEAD, "Alex Rivera", FACTS + "\noffer: a discount for the first quarter")
    claims = CLAIMS + [{"text": "a discount", "fact": fact_id("offer: a discount for the first quarter")}]
    assert not any("price or discount" in f for f in contract_failures("A question for Wpromote", body, claims, facts=sheet))


def test_placeholders_and_length():
    failures = contract_failures("A question for {{ company }}", BODY, CLAIMS, facts=SHEET)
    assert any(f.startswith("No placeholders") for f in failures)
    long_body = BODY.replace("Would", "we help. " * 100 + "Would")
    assert any(f.startswith("Length") for f in contract_failures("A question for Wpromote", long_body, CLAIMS, facts=SHEET))
