"""The SVG charts, and the admin index's KPIs, chart, streak and links agreeing with the daily report."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
import time_machine
from django.utils import timezone

from caio import charts
from outreach.reports.daily import daily_report
from outreach.models import CardStatus, EmailEvent
from ramp.models import QueueTrace, RampDay, RampPolicy
from tests.factories import make_card, make_lead
from tests.ramp.helpers import IN_WINDOW

pytestmark = pytest.mark.django_db


def svg_of(markup: str) -> ET.Element:
    return ET.fromstring(re.search(r"<svg.*?</svg>", str(markup), re.S).group(0))


def test_a_line_chart_is_well_formed_svg_with_its_figures_readable():
    markup = charts.line_chart("Sent <and> replies", ["01", "02", "03"], [("sent", [1, 4, 2]), ("replies", [0, 1, 0])])
    svg = svg_of(markup)
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.find(f"{ns}title").text == "Sent <and> replies"
    lines = svg.findall(f"{ns}polyline")
    assert len(lines) == 2
    # The highest point of the busiest series touches the top of the plot, zero the bottom.
    points = [tuple(map(float, p.split(","))) for p in lines[0].get("points").split()]
    assert min(y for _, y in points) == 10.0 and max(y for _, y in lines_points(lines[1])) == 158.0
    assert "<td>4</td>" in str(markup) and "sent 7" in str(markup)
    assert "http" not in str(markup).replace("http://www.w3.org/2000/svg", "")


def lines_points(line):
    return [tuple(map(float, p.split(","))) for p in line.get("points").split()]


def test_bars_and_progress_escape_labels_and_scale_to_the_peak():
    markup = str(charts.bar_chart("Reasons", ["<b>tone</b>", "dup"], [("v1", [2, 4]), ("v2", [1, 0])]))
    assert "<b>tone</b>" not in markup and "&lt;b&gt;tone&lt;/b&gt;" in markup
    svg = svg_of(markup)
    widths = [float(r.get("width")) for r in svg.iter("{http://www.w3.org/2000/svg}rect")]
    assert max(widths) == 400.0 and widths[0] == 200.0
    progress = str(charts.progress("Clean days", 2, 3))
    assert "2 of 3" in progress and 'width="160.0"' in progress


@pytest.fixture
def today():
    with time_machine.travel(IN_WINDOW, tick=False):
        yield IN_WINDOW


def test_the_index_shows_todays_kpis_the_chart_and_the_streak_as_the_daily_report_counts_them(today, admin_client):
    for index in range(4):
        lead = make_lead(replied_at=today if index < 2 else None, bounced_at=today if index == 3 else None)
        make_card(status=CardStatus.SENT, sent_at=today, lead=lead)
    report = daily_report()
    page = admin_client.get("/admin/")
    assert page.status_code == 200
    html = page.content.decode()
    kpi = page.context["kpi"]
    assert (kpi["today"].sent, kpi["today"].replies, kpi["today"].bounces) == (report["sent"], report["kpis"]["replies"], report["kpis"]["bounces"]) == (4, 2, 1)
    assert kpi["rates"]["reply_rate"] == report["kpis"]["reply_rate"] == 0.5
    # The last point of the sent line is today's 4.
    assert "sent 02-19: 4" in html and "replies 02-19: 2" in html
    day = RampDay.objects.get(date=today.date())
    assert f'href="/admin/ramp/rampday/{day.pk}/change/"' in html and 'href="/admin/tuning/"' in html
    assert "0 / 3" in html
    # The Head of Sales' part of the exit criteria is a click away from the streak that waits on it.
    assert 'id="kpi-quality" href="/admin/ramp/qualitysignoff/"' in html


def test_the_index_says_when_the_queue_drifted_and_what_the_report_found(today, admin_client):
    QueueTrace.objects.create(taken_at=timezone.now(), drift_flagged=True, drift={"pending": 40})
    RampDay.objects.create(date=today.date(), report={"anomalies": ["dispatched 6 over the cap 5"], "generated_at": "2026-02-19T20:00"})
    html = admin_client.get("/admin/").content.decode()
    assert 'id="kpi-drift"' in html and "dispatched 6 over the cap 5" in html


def test_the_ramp_page_draws_the_cap_steps(today, admin_client):
    for offset, cap in ((3, 5), (2, 5), (1, 10), (0, 20)):
        RampDay.objects.create(date=today.date() - dt.timedelta(days=offset), cap=cap)
    policy = RampPolicy.get()
    html = admin_client.get(f"/admin/ramp/ramppolicy/{policy.pk}/change/").content.decode()
    assert 'id="cap-steps"' in html and "<svg" in html
    assert "2026-02-18: 10</title>" in html and "2026-02-19: 20</title>" in html


def test_the_index_takes_a_figure_the_operator_entered_as_the_report_does(today, admin_client):
    card = make_card(status=CardStatus.SENT, sent_at=today)
    EmailEvent.objects.create(lead=card.lead, card=card, kind="meeting", occurred_at=today)
    RampDay.objects.create(date=today.date(), reported_meetings=3)
    report = daily_report()
    kpi = admin_client.get("/admin/").context["kpi"]
    assert kpi["today"].meetings == report["kpis"]["meetings"] == 3
    assert kpi["today"].complaints is report["kpis"]["complaints"] is None
