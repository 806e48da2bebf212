"""The Head of Sales signs off the quality rubric and rejection tags in a real browser, with a confirm step."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from outreach.models import RejectionTag
from outreach.roles import HEAD_OF_SALES
from ramp.models import QualitySignoff
from tests.factories import make_user

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_the_head_of_sales_signs_off_and_is_asked_again_when_a_tag_is_added(seeded, page, live_server, login, screenshots):
    importlib.import_module("ramp.migrations.0006_quality_rubric_and_signoffs").seed_rubric(apps, None)
    login(make_user("celia", role=HEAD_OF_SALES))

    page.goto(f"{live_server.url}/admin/ramp/qualitysignoff/")
    assert "Sign-off: none recorded (does not count)" in page.locator("#quality-state").inner_text()
    page.click("#sign-off-link")
    page.wait_for_url("**/admin/ramp/qualitysignoff/sign/")
    # The confirm step shows what is signed; nothing is recorded until she confirms.
    assert "Quality rubric v1:" in page.locator("#quality-what").inner_text()
    assert not QualitySignoff.objects.exists()
    page.screenshot(path=str(screenshots / "quality-signoff-confirm.png"), full_page=True)
    page.click("#quality-confirm-button")
    page.wait_for_url("**/admin/ramp/qualitysignoff/")
    assert "Recorded: rubric v1 and rejection tags" in page.locator(".messagelist").inner_text()
    signoff = QualitySignoff.objects.get()
    assert signoff.signed_by == "celia"
    assert signoff.as_line() in page.locator("#quality-state").inner_text()

    RejectionTag.objects.create(slug="wrong-seniority", label="Wrong seniority")
    page.reload()
    state = page.locator("#quality-state").inner_text()
    assert "(does not count)" in state and "asked again since the rejection tags changed" in state
    page.screenshot(path=str(screenshots / "quality-signoff-asked-again.png"), full_page=True)
