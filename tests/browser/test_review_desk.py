"""The Head of Sales' review desk in a real browser."""

from __future__ import annotations

import pytest

from outreach.models import CardStatus, PendingEmail, Tier
from outreach.roles import HEAD_OF_SALES, OPERATOR
from tests.factories import make_campaign, make_card, make_lead, make_user

pytestmark = [pytest.mark.django_db(transaction=True)]


def status_of(card) -> str:
    return PendingEmail.objects.values_list("status", flat=True).get(pk=card.pk)


def test_a_head_of_sales_reviews_the_queue(seeded, page, live_server, login, screenshots):
    hos = make_user("celia", role=HEAD_OF_SALES)
    to_reject = make_card(age_hours=3, lead=make_lead(first_name="Andrew", company="Wpromote"))
    to_approve = make_card(age_hours=2)
    last = make_card(age_hours=1)
    make_card(age_hours=100)
    make_card(is_canary=True)
    make_card(lead=make_lead(tier=Tier.TIER_2), campaign=make_campaign(tier=Tier.TIER_2, classifier="outbound_tier_2"))
    login(hos)

    page.goto(f"{live_server.url}/admin/outreach/pendingemail/")
    # The hygiene line is read after the list is shown.
    hygiene = page.locator("#hygiene-line[data-loaded=yes]")
    hygiene.wait_for()
    assert hygiene.inner_text() == "6 pending, 3 eligible; held back: 1 stale, 1 canary, 1 not tier_1"
    assert page.locator("#result_list tbody tr").count() == 3
    page.screenshot(path=str(screenshots / "review-queue.png"), full_page=True)

    page.click(f"text={to_reject.subject} >> nth=0")
    page.wait_for_url(f"**/pendingemail/{to_reject.pk}/change/")
    # One line when every check passes; the checks themselves one click further, on request.
    findings = page.locator("#all-findings .finding")
    assert findings.count() >= 4
    assert page.locator("#compliance-line").inner_text() == f"PASS All {findings.count()} checks pass"
    assert page.locator("#failing-findings").count() == 0
    assert not findings.first.is_visible()
    page.click("#compliance-line")
    page.click("#all-findings > summary")
    assert findings.first.is_visible()
    assert page.locator("#all-findings .badge-pass").count() == findings.count()
    assert "Reply STOP to unsubscribe." in page.locator("#email-body").inner_text()
    page.screenshot(path=str(screenshots / "review-card.png"), full_page=True)

    # Reject with no tag: the browser stops the form...
    page.click("#reject-button")
    assert page.url.endswith(f"/pendingemail/{to_reject.pk}/change/")
    assert page.eval_on_selector("#reject-tag", "el => el.validity.valueMissing") is True
    # ...and a crafted submission without the browser's check is refused by the server.
    page.eval_on_selector("#reject-tag", "el => el.removeAttribute('required')")
    page.click("#reject-button")
    page.wait_for_selector(".messagelist .error")
    assert "Not rejected: A rejection needs a tag" in page.locator(".messagelist").inner_text()
    assert status_of(to_reject) == CardStatus.PENDING

    page.select_option("#reject-tag", "weak_personalization")
    page.fill("#reject-note", "Generic opener")
    page.click("#reject-button")
    page.wait_for_url(f"**/pendingemail/{to_approve.pk}/change/")
    assert "Rejected" in page.locator(".messagelist").inner_text()
    assert status_of(to_reject) == CardStatus.REJECTED

    # Approve from the keyboard and land on the next eligible card.
    page.keyboard.press("a")
    page.wait_for_url(f"**/pendingemail/{last.pk}/change/")
    assert "Approved" in page.locator(".messagelist").inner_text()
    assert status_of(to_approve) == CardStatus.APPROVED
    assert PendingEmail.objects.get(pk=to_approve.pk).reviewed_by == hos


def test_drafted_html_is_shown_as_text_and_never_runs(seeded, page, live_server, login, screenshots):
    hos = make_user("celia", role=HEAD_OF_SALES)
    payload = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
    card = make_card(subject='<img src=x onerror="window.__xss = 3">Hi', body=f"Hi Celia,\n\n{payload}\n\nBest,\nAlex")
    login(hos)

    page.goto(f"{live_server.url}/admin/outreach/pendingemail/")
    # The queue lists the card (so its subject was on the page) and nothing ran.
    assert card.lead.email in page.locator("#result_list").inner_text()
    assert page.evaluate("typeof window.__xss") == "undefined"
    page.goto(f"{live_server.url}/admin/outreach/pendingemail/{card.pk}/change/")
    page.wait_for_load_state("load")

    assert page.evaluate("typeof window.__xss") == "undefined"
    assert payload in page.locator("#email-body").inner_text()
    assert page.locator("#email-subject").inner_text() == card.subject
    assert page.locator("#email-body img, #email-body script, #email-subject img").count() == 0
    page.screenshot(path=str(screenshots / "review-card-escaped.png"), full_page=True)


# The holds list is the Head of Sales' too (they raise a copy-failure hold); only an operator clears one.
@pytest.mark.parametrize("path", ["/admin/ramp/ramppolicy/"])
def test_only_operators_reach_ramp_policy_and_holds(seeded, page, live_server, login, path):
    login(make_user("celia", role=HEAD_OF_SALES))
    assert page.goto(f"{live_server.url}{path}").status == 403
    page.goto(f"{live_server.url}/admin/")
    assert page.locator(f'a[href="{path}"]').count() == 0

    page.context.clear_cookies()
    login(make_user("pto", role=OPERATOR))
    assert page.goto(f"{live_server.url}{path}").status == 200
    page.goto(f"{live_server.url}/admin/")
    assert page.locator(f'a[href="{path}"]').count() >= 1
