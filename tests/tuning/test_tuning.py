"""The weekly tuning report: counts per campaign, step and template version, rates from ramp's KPI home, CSV, page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
import time_machine
from django.utils import timezone

from outreach.reports import tuning
from outreach.models import CardStatus, EmailEvent, RejectionTag, Reply
from outreach.transitions import transition
from ramp.kpis import rate
from tests.factories import approval_fields, make_campaign, make_card
from tests.ramp.helpers import IN_WINDOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def week():
    with time_machine.travel(IN_WINDOW, tick=False):
        yield tuning.Week.ending()


def reject(card, slug):
    transition(card, CardStatus.REJECTED, rejection_tag=RejectionTag.objects.get(slug=slug), rejection_note=f"see {slug}")


def sent(campaign, version, **fields):
    return make_card(status=CardStatus.SENT, campaign=campaign, template_version=version, sent_at=timezone.now(), **fields)


def reply(card, classification):
    return Reply.objects.create(
        lead=card.lead, card=card, ghl_message_id=uuid.uuid4().hex, text="...", classification=classification
    )


@pytest.fixture
def world(week):
    campaign = make_campaign(name="Spring push")
    v1 = [sent(campaign, "v1") for _ in range(4)]
    v2 = [sent(campaign, "v2") for _ in range(2)]
    EmailEvent.objects.create(lead=v1[0].lead, card=v1[0], kind="delivered")
    EmailEvent.objects.create(lead=v1[1].lead, card=v1[1], kind="delivered")
    # Two events of one kind on one card count the card once.
    EmailEvent.objects.create(lead=v1[1].lead, card=v1[1], kind="opened")
    EmailEvent.objects.create(lead=v1[1].lead, card=v1[1], kind="opened")
    EmailEvent.objects.create(lead=v1[2].lead, card=v1[2], kind="bounced")
    EmailEvent.objects.create(lead=v1[0].lead, card=v1[0], kind="meeting")
    EmailEvent.objects.create(lead=v2[0].lead, card=v2[0], kind="unsubscribed")
    reply(v1[0], Reply.Classification.INTERESTED)
    reply(v1[1], Reply.Classification.NOT_NOW)
    reply(v2[1], Reply.Classification.OPT_OUT)
    for slug in ("placeholder_text", "placeholder_text", "tone_brand"):
        reject(make_card(campaign=campaign, template_version="v1"), slug)
    reject(make_card(campaign=campaign, template_version="v2"), "tone_brand")
    approved = make_card(campaign=campaign, template_version="v2")
    transition(approved, CardStatus.APPROVED, **approval_fields(approved))
    return campaign


def test_each_version_gets_its_counts_and_rates_with_sample_sizes(world, week):
    report = tuning.tuning_report(week)
    rows = {row.version: row for row in report.rows}
    assert set(rows) == {"v1", "v2"}
    v1, v2 = rows["v1"], rows["v2"]
    assert (v1.sent, v1.delivered, v1.opened, v1.bounced, v1.replies, v1.positive_replies, v1.meetings) == (4, 2, 1, 1, 2, 1, 1)
    assert v1.rejected_by_tag == {"placeholder_text": 2, "tone_brand": 1} and v1.approved == 0
    assert (v2.sent, v2.unsubscribed, v2.replies, v2.positive_replies, v2.approved, v2.rejected) == (2, 1, 1, 0, 1, 1)
    assert v1.drafted == 7 and v2.drafted == 4
    # The one KPI home's arithmetic, with the size of the sample it was taken on.
    assert v1.rates()["reply_rate"] == (rate(2, 4), 4) == (0.5, 4)
    assert v2.rates()["approval_rate"] == (0.5, 2)
    assert v1.rates()["approval_rate"] == (0.0, 3)


def test_the_top_reasons_carry_the_week_before_as_their_trend(world, week):
    campaign = world
    with time_machine.travel(IN_WINDOW - dt.timedelta(days=7), tick=False):
        for _ in range(3):
            reject(make_card(campaign=campaign, template_version="v0"), "tone_brand")
    top = tuning.tuning_report(week).top_reasons
    assert [(r["tag"], r["count"], r["previous"], r["change"]) for r in top] == [
        ("placeholder_text", 2, 0, 2),
        ("tone_brand", 2, 3, -1),
    ]


def test_the_csv_has_a_row_per_version_and_disarms_formula_cells(week):
    campaign = make_campaign(name="=HYPERLINK(\"http://x\")")
    sent(campaign, "v1")
    text = tuning.report_csv(tuning.tuning_report(week))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["campaign"] == "'=HYPERLINK(\"http://x\")"
    assert (rows[0]["sent"], rows[0]["reply_rate"], rows[0]["reply_rate_n"]) == ("1", "0.0", "1")


def test_the_page_compares_versions_draws_the_reasons_and_links_the_examples(world, week, admin_client):
    page = admin_client.get("/admin/tuning/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "version v1" in html and "version v2" in html
    assert "<svg" in html and "Rejections by reason and template version" in html
    assert "n=4" in html and "50%" in html
    examples_link = page.context["steps"][0]["tags"]
    placeholder = next(t for t in examples_link if t["slug"] == "placeholder_text")
    cell = placeholder["cells"][0]
    examples = admin_client.get(
        "/admin/tuning/examples/",
        {"campaign": cell["campaign"], "step": cell["step"], "version": "v1", "tag": "placeholder_text"},
    )
    assert examples.status_code == 200
    assert len(examples.context["cards"]) == 2
    assert all(card.rejection_tag.slug == "placeholder_text" for card in examples.context["cards"])
    exported = admin_client.get("/admin/tuning/export.csv")
    assert exported["Content-Type"].startswith("text/csv") and b"Spring push" in exported.content


def test_a_bad_week_is_a_clear_400(admin_client):
    answer = admin_client.get("/admin/tuning/", {"week": "last tuesday"})
    assert answer.status_code == 400 and answer.content == b"week must be a date as YYYY-MM-DD, not 'last tuesday'."
