"""The Head of Sales' part of the exit criteria: the rubric and rejection-tag sign-off and the
copy-quality confirmation are records, made only by the HoS, and graduation waits on them."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from outreach.models import RejectionTag
from outreach.review import rejection_taxonomy
from outreach.roles import HEAD_OF_SALES, OPERATOR
from ramp import quality, services
from ramp.models import QualityConfirmation, QualityRubric, QualitySignoff, RampDay, RampPolicy
from ramp.quality import current_taxonomy
from tests.dispatch.helpers import approved_card
from tests.factories import make_user, personal_token
from tests.ramp.helpers import IN_WINDOW, live_day, replay_and_smoke_passed

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 2, 20)


def three_clean_days() -> list[dt.date]:
    """Three clean days, and replay and smoke green: all graduation needs but the Head of Sales' records."""
    dates = [TODAY - dt.timedelta(days=n) for n in (2, 1, 0)]
    for date in dates:
        live_day(date)
    replay_and_smoke_passed()
    return dates


def hos_reasons(review: services.GraduationReview) -> list[str]:
    return [reason for reason in review.reasons if "Head of Sales" in reason]


# --- the taxonomy's version -------------------------------------------------------


def test_the_taxonomy_version_changes_whenever_the_usable_tags_change():
    seen = {current_taxonomy().version}
    tag = RejectionTag.objects.create(slug="too-long", label="Too long")
    seen.add(current_taxonomy().version)
    tag.label = "Far too long"
    tag.save()
    seen.add(current_taxonomy().version)
    tag.description = "Over 120 words."
    tag.save()
    seen.add(current_taxonomy().version)
    tag.active = False
    tag.save()
    after_retiring = current_taxonomy().version
    seen.add(after_retiring)
    # Four changes to the usable tags, four new versions; retiring the new tag brings back the set it started from.
    assert len(seen) == 4, seen
    assert "Far too long" not in current_taxonomy().tags


def test_the_taxonomy_ramp_reads_is_the_reviewers_tag_list():
    RejectionTag.objects.create(slug="system-only", label="System only", system=True)
    taxonomy = current_taxonomy()
    assert taxonomy == rejection_taxonomy()
    assert "System only" not in taxonomy.tags and len(taxonomy.tags) == RejectionTag.objects.filter(active=True, system=False).count()


# --- who may record them ----------------------------------------------------------------


def test_only_the_head_of_sales_signs_off_and_confirms(hos, operator):
    three_clean_days()
    for name, why in [
        ("Santa Claus", "'Santa Claus' is not a user"),
        ("operator", "'operator' may not sign off the quality rubric and rejection tags or confirm copy quality: "
                     "that needs the ramp.sign_off_quality permission (the Head of Sales')"),
    ]:
        with pytest.raises(CommandError, match=re.escape(why)):
            call_command("ramp", "signoff", "--by", name, stdout=StringIO())
        with pytest.raises(CommandError, match=re.escape(why)):
            call_command("ramp", "confirm-quality", "--by", name, stdout=StringIO())
    assert not QualitySignoff.objects.exists() and not QualityConfirmation.objects.exists()

    # Without --apply the HoS reads what she would sign, and nothing is recorded.
    out = StringIO()
    call_command("ramp", "signoff", "--by", "hos", stdout=out)
    rubric = QualityRubric.current()
    assert rubric.text.splitlines()[0] in out.getvalue() and ", ".join(current_taxonomy().tags) in out.getvalue()
    assert "Dry run, nothing recorded" in out.getvalue() and not QualitySignoff.objects.exists()

    out = StringIO()
    call_command("ramp", "signoff", "--apply", "--by", "hos", "--token", personal_token("hos"), stdout=out)
    signoff = QualitySignoff.objects.get()
    assert (signoff.signed_by, signoff.rubric_version, signoff.taxonomy_version) == ("hos", rubric.version, current_taxonomy().version)
    assert signoff.taxonomy_tags == list(current_taxonomy().tags)
    assert f"Recorded: {signoff.as_line()}." in out.getvalue()

    call_command("ramp", "confirm-quality", "--by", "hos", stdout=StringIO())
    assert not QualityConfirmation.objects.exists()
    call_command(
        "ramp", "confirm-quality", "--apply", "--token", personal_token("hos"), "--note", "read twenty cards", stdout=StringIO()
    )
    confirmation = QualityConfirmation.objects.get()
    assert (confirmation.confirmed_by, confirmation.graduation_level, confirmation.note) == ("hos", 0, "read twenty cards")


def test_the_roles_give_the_sign_off_to_the_head_of_sales_only():
    assert Group.objects.get(name=HEAD_OF_SALES).permissions.filter(codename="sign_off_quality").exists()
    assert not Group.objects.get(name=OPERATOR).permissions.filter(codename="sign_off_quality").exists()
    # A person who holds both roles may do both.
    both = make_user("both", role=OPERATOR)
    both.groups.add(Group.objects.get(name=HEAD_OF_SALES))
    assert services.sign_off_quality(by="both").signed_by == "both"


def test_a_confirmation_needs_a_current_sign_off_and_a_clean_day(hos):
    with pytest.raises(services.RampError, match="Sign off the quality rubric and rejection tags first"):
        services.confirm_copy_quality(by="hos", today=TODAY)
    services.sign_off_quality(by="hos")
    with pytest.raises(services.RampError, match="no clean supervised live day at level 0 yet"):
        services.confirm_copy_quality(by="hos", today=TODAY)
    live_day(TODAY)
    assert services.confirm_copy_quality(by="hos", today=TODAY).streak_began == TODAY


# --- graduation waits on them ------------------------------------------------------------


def test_graduation_waits_for_the_sign_off_then_the_confirmation(hos):
    three_clean_days()
    review = services.graduation_review(today=TODAY)
    assert review.reasons == [
        "the Head of Sales has not signed off the quality rubric and rejection tags (`ramp signoff --apply --token T` with their personal token, or Ramp › Quality sign-offs)",
        "the Head of Sales has not confirmed copy quality is stable during this clean streak at level 0 (`ramp confirm-quality --apply --token T` with their personal token, or Ramp › Quality sign-offs)",
    ]
    services.sign_off_quality(by="hos")
    assert len(hos_reasons(services.graduation_review(today=TODAY))) == 1
    services.confirm_copy_quality(by="hos", today=TODAY)
    assert services.graduation_review(today=TODAY).allowed
    assert services.graduate(by="pto", today=TODAY).graduation_level == 1


def test_a_taxonomy_change_asks_for_the_sign_off_again(hos):
    three_clean_days()
    services.sign_off_quality(by="hos")
    services.confirm_copy_quality(by="hos", today=TODAY)
    old = current_taxonomy().version
    RejectionTag.objects.create(slug="wrong-seniority", label="Wrong seniority")
    new = current_taxonomy().version
    review = services.graduation_review(today=TODAY)
    assert hos_reasons(review) == [
        f"the Head of Sales' sign-off of {QualitySignoff.objects.get().signed_at:%Y-%m-%d} no longer counts: "
        f"asked again since the rejection tags changed ({old} signed, {new} now)"
    ]
    # The new sign-off outdates the confirmation made under the old one.
    services.sign_off_quality(by="hos")
    assert hos_reasons(services.graduation_review(today=TODAY)) == [
        "the Head of Sales' copy-quality confirmation predates the current sign-off: asked again (`ramp confirm-quality --apply --token T` with their personal token, or Ramp › Quality sign-offs)"
    ]
    services.confirm_copy_quality(by="hos", today=TODAY)
    assert services.graduation_review(today=TODAY).allowed


def test_a_new_rubric_version_asks_for_the_sign_off_again(hos):
    services.sign_off_quality(by="hos")
    assert quality.signoff_state().current
    services.write_rubric(text="1. Say one true thing about them.\n2. One ask.", by="hos")
    state = quality.signoff_state()
    assert not state.current
    assert "asked again since the quality rubric changed (v1 signed, v2 now)" in state.problems[0]
    with pytest.raises(services.RampError, match="nothing changed"):
        services.write_rubric(text=" 1. Say one true thing about them.\n2. One ask. ", by="hos")


def test_a_confirmation_counts_only_for_its_streak_and_level(hos):
    first, second, third = three_clean_days()
    services.sign_off_quality(by="hos")
    RampDay.objects.filter(date=first).update(error_count=1)
    # The streak now begins on the second day; a confirmation then is for that streak.
    services.confirm_copy_quality(by="hos", today=TODAY)
    assert QualityConfirmation.objects.get().streak_began == second
    live_day(TODAY + dt.timedelta(days=1), errors=1)
    live_day(TODAY + dt.timedelta(days=2))
    assert hos_reasons(services.graduation_review(today=TODAY + dt.timedelta(days=2))) == [
        f"the Head of Sales' copy-quality confirmation was for the streak from {second}; "
        f"this streak began {TODAY + dt.timedelta(days=2)}: asked again (`ramp confirm-quality --apply --token T` with their personal token, or Ramp › Quality sign-offs)"
    ]
    policy = RampPolicy.get()
    policy.graduation_level, policy.streak_starts_on = 1, None
    policy.save()
    RampDay.objects.filter(date=TODAY + dt.timedelta(days=1)).update(error_count=0)
    assert hos_reasons(services.graduation_review(today=TODAY + dt.timedelta(days=2))) == [
        "the Head of Sales' copy-quality confirmation was made at level 0, not level 1: asked again (`ramp confirm-quality --apply --token T` with their personal token, or Ramp › Quality sign-offs)"
    ]


def test_the_same_words_in_status_graduate_and_the_ramp_page(hos, admin_client):
    three_clean_days()
    RejectionTag.objects.create(slug="wrong-seniority", label="Wrong seniority")
    with pytest.raises(CommandError) as refused:
        call_command("ramp", "graduate", stdout=StringIO())
    reasons = services.graduation_review().reasons
    hos_lines = [reason for reason in reasons if "Head of Sales" in reason]
    assert hos_lines
    status = StringIO()
    call_command("ramp", "status", stdout=status)
    page = admin_client.get(f"/admin/ramp/ramppolicy/{RampPolicy.get().pk}/change/").content.decode()
    for line in hos_lines:
        assert line in str(refused.value)
        assert line in status.getvalue()
        assert line.replace("'", "&#x27;") in page  # the page escapes the apostrophe


# --- ramp status ---------------------------------------------------------------------------


def test_ramp_status_prints_the_stop_settings_from_the_policy(hos):
    out = StringIO()
    call_command("ramp", "status", stdout=out)
    text = out.getvalue()
    assert (
        "unsubscribes: ceiling 2%; holds when the window shows the rate over it at 95% confidence "
        "(one-sided exact binomial), or when unsubscribes in the window reach 2"
    ) in text
    policy = RampPolicy.get()
    policy.max_bounce_rate, policy.stop_confidence, policy.bounce_hold_count = "0.0300", "0.9900", 0
    policy.save()
    out = StringIO()
    call_command("ramp", "status", stdout=out)
    assert "bounces: ceiling 3%; holds when the window shows the rate over it at 99% confidence (one-sided exact binomial), no count rule" in out.getvalue()
    assert "Sign-off: none recorded (does not count)" in out.getvalue()

    services.sign_off_quality(by="hos")
    out = StringIO()
    call_command("ramp", "status", "--json", stdout=out)
    assert '"signoff_current": true' in out.getvalue() and '"stop_settings": [' in out.getvalue()


# --- the admin ------------------------------------------------------------------------------


def test_the_head_of_sales_signs_off_in_the_admin_with_a_confirm_step(hos):
    client = Client(enforce_csrf_checks=True)
    client.force_login(hos)
    state_page = client.get("/admin/ramp/qualitysignoff/").content.decode()
    assert 'id="sign-off-link"' in state_page and "none recorded" in state_page
    page = client.get("/admin/ramp/qualitysignoff/sign/")
    assert page.status_code == 200 and not QualitySignoff.objects.exists()
    html = page.content.decode()
    assert QualityRubric.current().text.splitlines()[0] in html and current_taxonomy().version in html
    form = {
        "rubric_version": re.search(r'name="rubric_version" value="(\d+)"', html).group(1),
        "taxonomy_version": re.search(r'name="taxonomy_version" value="(\w+)"', html).group(1),
    }
    # Without the CSRF token the POST is refused and nothing is recorded.
    assert client.post("/admin/ramp/qualitysignoff/sign/", form).status_code == 403
    assert not QualitySignoff.objects.exists()
    form["csrfmiddlewaretoken"] = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    # The tags changed while the HoS read them: refused, nothing recorded.
    RejectionTag.objects.create(slug="late-addition", label="Late addition")
    answer = client.post("/admin/ramp/qualitysignoff/sign/", form, follow=True)
    assert any("changed while you read them" in str(m) for m in answer.context["messages"])
    assert not QualitySignoff.objects.exists()
    form["taxonomy_version"] = current_taxonomy().version
    answer = client.post("/admin/ramp/qualitysignoff/sign/", form)
    assert answer.status_code == 302 and answer["Location"] == "/admin/ramp/qualitysignoff/"
    assert QualitySignoff.objects.get().signed_by == "hos"


def test_the_head_of_sales_confirms_copy_quality_in_the_admin(hos, client):
    with time_machine.travel(IN_WINDOW, tick=False):
        _confirm_in_the_admin(hos, client)


def _confirm_in_the_admin(hos, client) -> None:
    live_day(IN_WINDOW.date())
    services.sign_off_quality(by="hos")
    client.force_login(hos)
    page = client.get("/admin/ramp/qualitysignoff/confirm-quality/")
    assert page.status_code == 200 and b"Confirm copy quality is stable" in page.content
    assert not QualityConfirmation.objects.exists()
    client.post("/admin/ramp/qualitysignoff/confirm-quality/", {"note": "steady for a week"})
    assert QualityConfirmation.objects.get().note == "steady for a week"
    assert b"copy quality confirmed stable by hos" in client.get("/admin/ramp/qualitysignoff/").content


def test_an_operator_may_not_sign_off_in_the_admin(operator, client):
    client.force_login(operator)
    page = client.get("/admin/ramp/qualitysignoff/").content.decode()
    assert 'id="sign-off-link"' not in page and "Only the Head of Sales signs off" in page
    assert client.get("/admin/ramp/qualitysignoff/sign/").status_code == 403
    assert client.post("/admin/ramp/qualitysignoff/sign/", {}).status_code == 403
    assert client.post("/admin/ramp/qualitysignoff/confirm-quality/", {}).status_code == 403
    assert not QualitySignoff.objects.exists() and not QualityConfirmation.objects.exists()


def test_the_ramp_page_shows_who_when_which_version_and_when_asked_again(hos, admin_client):
    services.sign_off_quality(by="hos")
    url = f"/admin/ramp/ramppolicy/{RampPolicy.get().pk}/change/"
    page = admin_client.get(url).content.decode()
    assert QualitySignoff.objects.get().as_line() in page and "(does not count)" in page  # no confirmation yet
    RejectionTag.objects.create(slug="wrong-seniority", label="Wrong seniority")
    page = admin_client.get(url).content.decode()
    assert "asked again since the rejection tags changed" in page


def test_writing_the_rubric_adds_a_version_and_the_card_page_links_the_current_one(hos, client):
    client.force_login(hos)
    add = client.get("/admin/ramp/qualityrubric/add/").content.decode()
    assert QualityRubric.current().text.splitlines()[0] in add  # the form starts from the rubric in force
    answer = client.post("/admin/ramp/qualityrubric/add/", {"text": "1. One true, specific opener.\n2. One ask."})
    assert answer.status_code == 302
    rubric = QualityRubric.current()
    assert (rubric.version, rubric.written_by) == (2, "hos")
    assert client.get("/admin/ramp/qualityrubric/current/")["Location"] == f"/admin/ramp/qualityrubric/{rubric.pk}/change/"
    # The same text again is refused in the form, which keeps what was typed.
    again = client.post("/admin/ramp/qualityrubric/add/", {"text": "1. One true, specific opener.\n2. One ask."})
    assert again.status_code == 200 and "This is the text of rubric v2 already: nothing changed." in again.content.decode()
    assert "One true, specific opener." in again.content.decode() and QualityRubric.objects.count() == 2
    # A version is read, never edited.
    page = client.get(f"/admin/ramp/qualityrubric/{rubric.pk}/change/").content.decode()
    assert 'name="text"' not in page and "One true, specific opener." in page
    card_page = client.get(f"/admin/outreach/pendingemail/{approved_card().pk}/change/").content.decode()
    assert 'id="quality-rubric-link"' in card_page and 'href="/admin/ramp/qualityrubric/current/"' in card_page
