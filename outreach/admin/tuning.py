"""The weekly tuning page, its CSV export and the example cards behind each rejection count.

The page only shows `outreach.reports.tuning`'s report; it counts nothing itself.
Anyone who may read cards may open it.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from caio import charts
from caio.params import BadParameter, answers_bad_parameters, date_param, int_param
from outreach.reports import tuning

VIEW_PERMISSION = "outreach.view_pendingemail"


def _week(request: HttpRequest) -> tuning.Week:
    """The week ending on ?week=YYYY-MM-DD, else the week ending today; a bad date is a 400 naming it, not a 500."""
    text = request.GET.get("week", "").strip()
    if not text:
        return tuning.Week.ending()
    return tuning.Week.ending(date_param("week", text))


def _require(request: HttpRequest) -> None:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied


@answers_bad_parameters
def tuning_view(request: HttpRequest) -> TemplateResponse:
    _require(request)
    week = _week(request)
    report = tuning.tuning_report(week)
    tag_labels, by_version = tuning.reasons_by_version(report)
    chart = charts.bar_chart("Rejections by reason and template version", tag_labels, [(v, c) for v, c in by_version]) if by_version else None
    context = {
        **admin.site.each_context(request),
        "title": f"Weekly tuning, {week.label()}",
        "report": report,
        "week": week,
        "previous_week": week.previous.last.isoformat(),
        "next_week": (week.last + dt.timedelta(days=tuning.WEEK_DAYS)).isoformat(),
        "chart": chart,
        "steps": [_side_by_side(report, campaign, step, rows) for campaign, step, rows in report.steps()],
    }
    return TemplateResponse(request, "admin/tuning/report.html", context)


COUNT_ROWS = (
    ("drafted", "Drafted"), ("approved", "Approved"), ("rejected", "Rejected"), ("sent", "Sent"),
    ("delivered", "Delivered"), ("opened", "Opened"), ("replies", "Replies"), ("positive_replies", "Positive replies"),
    ("bounced", "Bounced (hard)"), ("soft_bounced", "Bounced (soft)"), ("unsubscribed", "Unsubscribed"),
    ("complained", "Complaints"), ("meetings", "Meetings"),
)
RATE_ROWS = (
    ("approval_rate", "Approval rate"), ("delivery_rate", "Delivery rate"), ("open_rate", "Open rate"),
    ("reply_rate", "Reply rate"), ("positive_reply_rate", "Positive reply rate"), ("bounce_rate", "Bounce rate"),
    ("unsubscribe_rate", "Unsubscribe rate"), ("complaint_rate", "Complaint rate"), ("meeting_rate", "Meeting rate"),
)


def _side_by_side(report: tuning.TuningReport, campaign: str, step: str, rows: list[tuning.VersionRow]) -> dict:
    """One step's versions as columns: a row per count, per rate (with its sample size) and per rejection tag."""
    rates = [row.rates() for row in rows]
    tag_rows = []
    for slug, label in report.tags.items():
        cells = [
            {"count": row.rejected_by_tag.get(slug, 0), "campaign": row.campaign_id, "step": row.step_id, "version": row.version}
            for row in rows
        ]
        if any(cell["count"] for cell in cells):
            tag_rows.append({"slug": slug, "label": label, "cells": cells})
    return {
        "campaign": campaign,
        "step": step,
        "versions": [row.version for row in rows],
        "counts": [(label, [getattr(row, name) for row in rows]) for name, label in COUNT_ROWS],
        "rates": [(label, [r[name] for r in rates]) for name, label in RATE_ROWS],
        "tags": tag_rows,
    }


@answers_bad_parameters
def tuning_csv(request: HttpRequest) -> HttpResponse:
    _require(request)
    report = tuning.tuning_report(_week(request))
    response = HttpResponse(tuning.report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tuning-{report.week.last:%Y-%m-%d}.csv"'
    return response


@answers_bad_parameters
def tuning_examples(request: HttpRequest) -> TemplateResponse:
    _require(request)
    week = _week(request)
    missing = [name for name in ("campaign", "step", "version", "tag") if name not in request.GET]
    if missing:
        raise BadParameter(f"give campaign, step (numbers), version and tag: {', '.join(missing)} missing.")
    campaign_id, step_id = int_param("campaign", request.GET["campaign"]), int_param("step", request.GET["step"])
    version, tag = request.GET["version"], request.GET["tag"]
    cards = list(tuning.example_cards(week, campaign_id=campaign_id, step_id=step_id, version=version, tag=tag))
    context = {
        **admin.site.each_context(request),
        "title": f"Cards rejected as {tag}, version {version}, {week.label()}",
        "cards": cards,
        "week": week,
    }
    return TemplateResponse(request, "admin/tuning/examples.html", context)
