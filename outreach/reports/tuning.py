"""The weekly tuning report: how each template version of each cadence step did, for the runbook's
"prompt/template tuning based on rejection reasons and reply outcomes". A
model-drafted card counts under its prompt version (spring:s1:p3) as a
template card does under its template version (spring:s1:v2).

A week is seven operating days (`ramp.days`) ending on a given date. The
review columns count what happened in the week, as the daily report counts it
(a card approved or rejected in the week, by its tag); the send columns count
the cards sent in the week and what came back from them, each card once.
Every rate comes from `ramp.kpis.rate`, the KPI home the daily report uses,
and is shown with its sample size.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q

from compliance.spreadsheet import neutralise_formula
from outreach.models import CardStatus, CardTransition, EmailEvent, PendingEmail, Reply
from ramp.days import day_bounds, operating_date
from ramp.kpis import rate

WEEK_DAYS = 7
# Per card: the outcome columns and the EmailEvent kinds that make them.
OUTCOME_KINDS: dict[str, tuple[str, ...]] = {
    "delivered": (EmailEvent.Kind.DELIVERED,),
    "opened": (EmailEvent.Kind.OPENED,),
    "bounced": (EmailEvent.Kind.BOUNCED,),
    "soft_bounced": (EmailEvent.Kind.SOFT_BOUNCED,),
    "complained": (EmailEvent.Kind.COMPLAINED,),
    "unsubscribed": (EmailEvent.Kind.UNSUBSCRIBED,),
    "meetings": (EmailEvent.Kind.MEETING,),
}


@dataclass(frozen=True)
class Week:
    """Seven operating days ending on `last` (inclusive)."""

    last: dt.date

    @classmethod
    def ending(cls, last: dt.date | None = None) -> Week:
        return cls(last or operating_date())

    @property
    def first(self) -> dt.date:
        return self.last - dt.timedelta(days=WEEK_DAYS - 1)

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        return day_bounds(self.first)[0], day_bounds(self.last)[1]

    @property
    def previous(self) -> Week:
        return Week(self.first - dt.timedelta(days=1))

    def label(self) -> str:
        return f"{self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}"


@dataclass
class VersionRow:
    """One (campaign, step, template version): its week in counts."""

    campaign_id: int
    campaign: str
    step_id: int
    step: str
    version: str
    drafted: int = 0
    approved: int = 0
    rejected_by_tag: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    replies: int = 0
    positive_replies: int = 0
    bounced: int = 0
    soft_bounced: int = 0
    complained: int = 0
    unsubscribed: int = 0
    meetings: int = 0

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.campaign_id, self.step_id, self.version)

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_tag.values())

    @property
    def reviewed(self) -> int:
        return self.approved + self.rejected

    def rates(self) -> dict[str, tuple[float | None, int]]:
        """Each rate with its sample size: approval of the reviewed cards, the rest of the sent ones."""
        per_sent = {
            "delivery_rate": self.delivered,
            "open_rate": self.opened,
            "reply_rate": self.replies,
            "positive_reply_rate": self.positive_replies,
            "bounce_rate": self.bounced,
            "unsubscribe_rate": self.unsubscribed,
            "complaint_rate": self.complained,
            "meeting_rate": self.meetings,
        }
        result = {"approval_rate": (rate(self.approved, self.reviewed), self.reviewed)}
        result.update({name: (rate(count, self.sent), self.sent) for name, count in per_sent.items()})
        return result


@dataclass
class TuningReport:
    week: Week
    rows: list[VersionRow]
    # Tag slug -> label, for the reviewers' tags that appear in the rows.
    tags: dict[str, str]
    # The week's top reasons with the week before: tag, label, count, previous.
    top_reasons: list[dict]

    def steps(self) -> list[tuple[str, str, list[VersionRow]]]:
        """Rows grouped by (campaign, step), versions side by side, in the order they were listed."""
        grouped: dict[tuple[int, int], list[VersionRow]] = {}
        for row in self.rows:
            grouped.setdefault((row.campaign_id, row.step_id), []).append(row)
        return [(rows[0].campaign, rows[0].step, rows) for rows in grouped.values()]


def _version(values: dict) -> str:
    """The version a card was drafted from: its prompt version when the model drafted it, else its template version."""
    return values["prompt_version"] or values["template_version"] or "(none)"


def _key(values: dict) -> tuple[int, int, str]:
    return (values["campaign_id"], values["step_id"], _version(values))


def tuning_report(week: Week | None = None) -> TuningReport:
    """Count the week per campaign, step and template version."""
    week = week or Week.ending()
    start, end = week.bounds
    rows: dict[tuple[int, int, str], VersionRow] = {}

    def row(values: dict) -> VersionRow:
        key = _key(values)
        if key not in rows:
            rows[key] = VersionRow(
                campaign_id=values["campaign_id"],
                campaign=values["campaign__name"],
                step_id=values["step_id"],
                step=f"step {values['step__number']}",
                version=_version(values),
            )
        return rows[key]

    group = ("campaign_id", "campaign__name", "step_id", "step__number", "template_version", "prompt_version")
    for values in PendingEmail.objects.filter(created_at__gte=start, created_at__lt=end).values(*group).annotate(n=Count("pk")).order_by():
        row(values).drafted = values["n"]

    moves = CardTransition.objects.filter(created_at__gte=start, created_at__lt=end)
    card_group = tuple(f"card__{name}" for name in group)
    for values in moves.filter(to_status=CardStatus.APPROVED).values(*card_group).annotate(n=Count("card", distinct=True)).order_by():
        row(_unprefix(values)).approved = values["n"]
    tags: dict[str, str] = {}
    rejected = (
        moves.filter(to_status=CardStatus.REJECTED)
        .values(*card_group, "card__rejection_tag__slug", "card__rejection_tag__label")
        .annotate(n=Count("card", distinct=True))
        .order_by()
    )
    for values in rejected:
        slug = values["card__rejection_tag__slug"] or "untagged"
        tags[slug] = values["card__rejection_tag__label"] or "untagged"
        row(_unprefix(values)).rejected_by_tag[slug] = values["n"]

    sent = PendingEmail.objects.filter(status=CardStatus.SENT, sent_at__gte=start, sent_at__lt=end)
    for values in sent.values(*group).annotate(n=Count("pk")).order_by():
        row(values).sent = values["n"]
    events = EmailEvent.objects.filter(card__in=sent.values("pk"))
    for column, kinds in OUTCOME_KINDS.items():
        for values in events.filter(kind__in=kinds).values(*card_group).annotate(n=Count("card", distinct=True)).order_by():
            setattr(row(_unprefix(values)), column, values["n"])
    replies = Reply.objects.filter(card__in=sent.values("pk"))
    for values in replies.values(*card_group).annotate(n=Count("card", distinct=True)).order_by():
        row(_unprefix(values)).replies = values["n"]
    positive = replies.filter(classification=Reply.Classification.INTERESTED)
    for values in positive.values(*card_group).annotate(n=Count("card", distinct=True)).order_by():
        row(_unprefix(values)).positive_replies = values["n"]

    ordered = sorted(rows.values(), key=lambda r: (r.campaign, r.campaign_id, r.step, r.version))
    return TuningReport(week=week, rows=ordered, tags=dict(sorted(tags.items())), top_reasons=top_rejection_reasons(week))


def _unprefix(values: dict) -> dict:
    return {name.removeprefix("card__"): value for name, value in values.items()}


def rejections_by_tag(week: Week) -> dict[str, tuple[str, int]]:
    """The reviewers' rejections of the week by tag (system tags left out): slug -> (label, cards)."""
    start, end = week.bounds
    found = (
        CardTransition.objects.filter(created_at__gte=start, created_at__lt=end, to_status=CardStatus.REJECTED)
        .exclude(card__rejection_tag__system=True)
        .exclude(card__rejection_tag__isnull=True)
        .values("card__rejection_tag__slug", "card__rejection_tag__label")
        .annotate(n=Count("card", distinct=True))
        .order_by()
    )
    return {r["card__rejection_tag__slug"]: (r["card__rejection_tag__label"], r["n"]) for r in found}


def top_rejection_reasons(week: Week, *, limit: int = 5) -> list[dict]:
    """The week's most frequent rejection reasons, each with its count the week before (the trend)."""
    now, before = rejections_by_tag(week), rejections_by_tag(week.previous)
    ranked = sorted(now.items(), key=lambda item: (-item[1][1], item[0]))[:limit]
    return [
        {"tag": slug, "label": label, "count": count, "previous": before.get(slug, ("", 0))[1], "change": count - before.get(slug, ("", 0))[1]}
        for slug, (label, count) in ranked
    ]


def example_cards(week: Week, *, campaign_id: int, step_id: int, version: str, tag: str, limit: int = 10):
    """The cards rejected in the week with `tag` for one version: the examples behind a count."""
    start, end = week.bounds
    label = "" if version == "(none)" else version
    cards = PendingEmail.objects.filter(Q(prompt_version=label) | Q(prompt_version="", template_version=label)).filter(
        campaign_id=campaign_id,
        step_id=step_id,
        status=CardStatus.REJECTED,
        transitions__to_status=CardStatus.REJECTED,
        transitions__created_at__gte=start,
        transitions__created_at__lt=end,
    )
    cards = cards.filter(rejection_tag__isnull=True) if tag == "untagged" else cards.filter(rejection_tag__slug=tag)
    return cards.select_related("lead", "rejection_tag").distinct().order_by("-reviewed_at", "-pk")[:limit]


CSV_COUNTS = (
    "drafted", "approved", "rejected", "sent", "delivered", "opened", "replies", "positive_replies",
    "bounced", "soft_bounced", "unsubscribed", "complained", "meetings",
)


def report_csv(report: TuningReport) -> str:
    """The report as CSV: one row per version, counts, each rate with its sample size, rejections by tag.

    Every cell goes through the project's formula guard: campaign names and versions are typed by people.
    """
    rate_names = list(VersionRow(0, "", 0, "", "").rates())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["week", "campaign", "step", "template_version", *CSV_COUNTS]
    for name in rate_names:
        header += [name, f"{name}_n"]
    header += [f"rejected:{slug}" for slug in report.tags]
    writer.writerow(header)
    for row in report.rows:
        cells: list = [report.week.label(), row.campaign, row.step, row.version]
        cells += [getattr(row, name) for name in CSV_COUNTS]
        for value, size in row.rates().values():
            cells += ["" if value is None else value, size]
        cells += [row.rejected_by_tag.get(slug, 0) for slug in report.tags]
        writer.writerow([neutralise_formula(cell) for cell in cells])
    return buffer.getvalue()


def reasons_by_version(report: TuningReport) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """Rejections by tag for each version, for the chart: (tag labels, [(version label, counts per tag)])."""
    slugs = list(report.tags)
    series = defaultdict(lambda: [0] * len(slugs))
    for row in report.rows:
        if not row.rejected:
            continue
        label = f"{row.campaign} {row.step} {row.version}"
        for index, slug in enumerate(slugs):
            series[label][index] += row.rejected_by_tag.get(slug, 0)
    return [report.tags[s] for s in slugs], list(series.items())


__all__ = ["Week", "VersionRow", "TuningReport", "tuning_report", "top_rejection_reasons", "example_cards", "report_csv"]
