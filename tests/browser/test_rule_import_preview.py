"""Importing exclusion rules from CSV in a real browser: before the import is confirmed, the
page lists the open cards and leads the new rules will hit; confirming holds them back at once."""

from __future__ import annotations

import pytest

from compliance.models import ExcludedDomain
from outreach.models import PendingEmail
from outreach.roles import HEAD_OF_SALES, OPERATOR
from tests.browser.test_import_errors import assert_no_traceback, upload
from tests.compliance.rule_admin import build_queue
from tests.factories import make_user

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

DOMAINS = b"domain,reason\nhttps://www.Customer.example/,now a customer\nnobody.example,unused\n"


def test_a_rule_import_previews_the_cards_it_will_hit_before_it_is_confirmed(seeded, page, live_server, login, screenshots):
    queue = build_queue(reviewer=make_user("celia", role=HEAD_OF_SALES))
    login(make_user("olga", role=OPERATOR))

    upload(page, live_server, "/admin/compliance/excludeddomain/import/", DOMAINS)

    page.screenshot(path=str(screenshots / "rule-import-preview.png"), full_page=True)
    preview = page.locator("#rule-preview")
    assert preview.locator("h2").inner_text() == "These 2 rules will hit 2 open card(s) and 2 lead(s)."
    assert preview.locator(".rule-preview-cards li").all_inner_texts() == [
        f"card {queue['ana'].pk} to ana@customer.example (pending, spring step 1)",
        f"card {queue['bo'].pk} to bo@eu.customer.example (approved, spring step 1)",
    ]
    assert preview.locator(".rule-preview-leads li").all_inner_texts() == [
        "ana@customer.example (Customer, tier_1)",
        "bo@eu.customer.example (Customer EU, tier_1)",
    ]
    assert_no_traceback(page)
    assert not ExcludedDomain.objects.exists()
    assert PendingEmail.objects.filter(compliance_passed=True).count() == 3

    page.click("input[type=submit][value='Confirm import']")
    page.wait_for_selector(".messagelist")

    assert sorted(ExcludedDomain.objects.values_list("domain", flat=True)) == ["customer.example", "nobody.example"]
    passing = dict(PendingEmail.objects.values_list("lead__email", "compliance_passed"))
    assert passing == {"ana@customer.example": False, "bo@eu.customer.example": False, "cy@other.example": True}
