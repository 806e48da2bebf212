"""The Head of Sales works the replies inbox in a real browser."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ghl.webhooks import public_key_pem
from outreach.models import Lead, Reply
from outreach.roles import HEAD_OF_SALES
from tests.factories import make_user
from tests.replies.test_inbox import KEY, inbound

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def webhook_key(settings):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = public_key_pem(KEY)
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = ""


def test_a_head_of_sales_sees_interested_replies_and_reclassifies_one(seeded, page, live_server, login, screenshots):
    hos = make_user("celia", role=HEAD_OF_SALES)
    inbound("<p>Sounds good, let's talk Thursday. What times work?</p><blockquote>Reply STOP to unsubscribe</blockquote>")
    inbound("Tell me more - does it work with Google Ads?")
    inbound("Not right now, we're mid-migration. Check back in Q3.")
    inbound("I am out of the office until March 10 with limited access to email.", subject="Automatic reply: Hello")
    inbound("STOP")
    ambiguous = inbound("We had to stop that project last year. Who gave you my name?")
    login(hos)

    # The index says at a glance who is interested, and leads there.
    tile = page.locator("#tile-replies")
    assert "2 interested" in " ".join(tile.inner_text().split())
    page.screenshot(path=str(screenshots / "index-replies-tile.png"), full_page=True)
    page.click("#interested-replies")
    page.wait_for_url("**/admin/outreach/reply/?*")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert "Sounds good, let's talk Thursday. What times work?" in page.locator("#result_list").inner_text()

    # The whole inbox: every classification at a glance.
    page.goto(f"{live_server.url}/admin/outreach/reply/")
    assert page.locator("#result_list tbody tr").count() == 6
    labels = page.locator("#result_list .reply-class").all_inner_texts()
    assert sorted(labels) == sorted(["Interested", "Interested", "Not now", "Out of office", "Opt-out", "Unclassified"])
    page.screenshot(path=str(screenshots / "replies-inbox.png"), full_page=True)

    # The ambiguous one is for a person: she reads it and decides it is an opt-out.
    page.click(f'#result_list a[href$="/reply/{ambiguous.pk}/change/"] >> nth=0')
    page.wait_for_url(f"**/reply/{ambiguous.pk}/change/")
    assert "does NOT lift that suppression" in page.locator("#reply_form").inner_text()
    page.select_option("#id_classification", "opt_out")
    page.check("#id_handled")
    page.screenshot(path=str(screenshots / "reply-reclassify.png"), full_page=True)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    assert "is now opt-out (was unclassified)" in page.locator(".messagelist").inner_text()
    lead = Lead.objects.get(pk=ambiguous.lead_id)
    assert lead.unsubscribed_at is not None
    reply = Reply.objects.get(pk=ambiguous.pk)
    assert (reply.classification, reply.handled_by.username) == ("opt_out", "celia")

    # Mark the rest handled from the list; the index tile follows.
    page.goto(f"{live_server.url}/admin/outreach/reply/?handled=no")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "mark_handled")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    assert "5 replies marked handled." in page.locator(".messagelist").inner_text()
    assert not Reply.objects.filter(handled_at__isnull=True).exists()
    page.goto(f"{live_server.url}/admin/")
    assert "0 not handled" in page.locator("#tile-replies").inner_text()
    assert Reply.objects.filter(handled_at__lte=timezone.now()).count() == 6
