"""Outcomes belong to the send's day: each reply, bounce, unsubscribe and complaint is the answer to one
email, and counts on the operating day that email was sent (its claim's window day), whenever it arrived.

The daily report counts a day's sends and their outcomes here; the stop
conditions judge the window's sends and theirs; and `restate` stores the
revised counts on every reported day whose window holds an email when its
answer arrives late, so that day's clean verdict (`ramp.clean`) and graduation
read the outcome as it stands now.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from outreach.models import CardStatus, EmailEvent, Lead, PendingEmail
from ramp import report, stop_conditions
from ramp.days import claim_bounds, claim_date, day_bounds, window_bounds
from ramp.holds import cleared_evidence
from ramp.kpis import KpiCounts
from ramp.models import RampDay, RampPolicy

DELIVERABILITY_WINDOW_DAYS = 7
# The lead fields whose instant says a lead answered, by the count it adds to.
LEAD_OUTCOMES = {"replies": "replied_at", "bounces": "bounced_at", "unsubscribes": "unsubscribed_at"}


@dataclass
class SendDay:
    """One operating day's sends and what came back from them."""

    date: dt.date
    sent: list[int] = field(default_factory=list)  # card ids
    replies: list[int] = field(default_factory=list)  # lead ids, one an answered email
    bounces: list[int] = field(default_factory=list)
    unsubscribes: list[int] = field(default_factory=list)
    complaints: int = 0
    # The day's complaints from GHL's events and the operator's figure: None when neither has any.
    complaints_recorded: bool = False
    answered: set[int] = field(default_factory=set)  # card ids with a reply


def _policy() -> RampPolicy:
    return RampPolicy.objects.filter(pk=1).first() or RampPolicy()


def email_day(policy: RampPolicy, queued_at: dt.datetime | None, sent_at: dt.datetime) -> dt.date:
    """The operating day an email was sent on: the day its claim counted against (the job sends only in that day's window)."""
    return claim_date(policy, queued_at or sent_at)


def sends_between(policy: RampPolicy, first: dt.date, last: dt.date) -> Q:
    """The sent cards whose send day is in [first, last] (a card without a claim time: by its send time)."""
    start, end = claim_bounds(policy, first)[0], claim_bounds(policy, last)[1]
    return Q(status=CardStatus.SENT) & (
        Q(queued_at__gte=start, queued_at__lt=end) | Q(queued_at__isnull=True, sent_at__gte=start, sent_at__lt=end)
    )


def by_send_day(first: dt.date, last: dt.date, *, policy: RampPolicy | None = None) -> dict[dt.date, SendDay]:
    """Each day in [first, last] with its sends and their outcomes, whenever they arrived.

    A lead's reply, bounce or unsubscribe answers its latest email sent before it;
    a complaint names its email (GHL's event), and the operator's figure for a
    day counts when larger (the same complaints told by hand: `complaint_evidence`).
    """
    policy = policy or _policy()
    days = {first + dt.timedelta(days=n): SendDay(first + dt.timedelta(days=n)) for n in range((last - first).days + 1)}
    card_day: dict[int, dt.date] = {}
    for pk, queued_at, sent_at in PendingEmail.objects.filter(sends_between(policy, first, last)).values_list("pk", "queued_at", "sent_at"):
        card_day[pk] = email_day(policy, queued_at, sent_at)
        days[card_day[pk]].sent.append(pk)
    if not card_day:
        return days
    # Every email sent to the window's leads, in order, to find the one each outcome answers.
    sent_to: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    leads = PendingEmail.objects.filter(pk__in=card_day).values_list("lead_id", flat=True)
    for lead_id, sent_at, pk in (
        PendingEmail.objects.filter(lead_id__in=leads, status=CardStatus.SENT).order_by("sent_at", "pk").values_list("lead_id", "sent_at", "pk")
    ):
        sent_to[lead_id].append((sent_at, pk))
    for lead in Lead.objects.filter(pk__in=leads).values("pk", *LEAD_OUTCOMES.values()):
        emails = sent_to[lead["pk"]]
        for count_name, field_name in LEAD_OUTCOMES.items():
            at = lead[field_name]
            answered = answered_email(emails, at) if at else None
            if answered in card_day:
                getattr(days[card_day[answered]], count_name).append(lead["pk"])
                if count_name == "replies":
                    days[card_day[answered]].answered.add(answered)
    complained = (
        EmailEvent.objects.filter(kind=EmailEvent.Kind.COMPLAINED, card_id__in=card_day).order_by().values_list("card_id", flat=True).distinct()
    )
    for card_id in complained:
        days[card_day[card_id]].complaints += 1
        days[card_day[card_id]].complaints_recorded = True
    for date, reported in RampDay.objects.filter(date__in=days).exclude(reported_complaints=None).values_list("date", "reported_complaints"):
        days[date].complaints = max(days[date].complaints, reported)
        days[date].complaints_recorded = True
    return days


def answered_email(emails: list[tuple[dt.datetime, int]], at: dt.datetime) -> int | None:
    """The latest of a lead's emails (sent_at, card id), in order, sent at or before `at` (None: none was)."""
    index = bisect_right([sent_at for sent_at, _ in emails], at)
    return emails[index - 1][1] if index else None


def day_outcomes(date: dt.date, *, policy: RampPolicy | None = None) -> SendDay:
    return by_send_day(date, date, policy=policy)[date]


def arrived_on(date: dt.date) -> dict[str, int]:
    """What arrived on the operating day `date`, whichever day's email it answers."""
    start, end = day_bounds(date)
    arrived = {name: Lead.objects.filter(**{f"{f}__gte": start, f"{f}__lt": end}).count() for name, f in LEAD_OUTCOMES.items()}
    arrived["complaints"] = EmailEvent.objects.filter(kind=EmailEvent.Kind.COMPLAINED, occurred_at__gte=start, occurred_at__lt=end).count()
    return arrived


def window_facts(last: dt.date, *, cleared_before: dt.datetime, policy: RampPolicy | None = None, facts: stop_conditions.QueueFacts | None = None) -> stop_conditions.QueueFacts:
    """The window of send days ending on `last`: its sends and what came back from them, each named as evidence.

    Evidence a person cleared with a hold before `cleared_before` counts toward
    that rule no more: only new evidence can raise it again.
    """
    policy = policy or _policy()
    facts = facts or stop_conditions.QueueFacts(window_days=DELIVERABILITY_WINDOW_DAYS)
    days = by_send_day(last - dt.timedelta(days=DELIVERABILITY_WINDOW_DAYS - 1), last, policy=policy).values()
    sent = [pk for day in days for pk in day.sent]
    answered = {pk for day in days for pk in day.answered}
    facts.sent = len(sent)
    facts.bounce_evidence = uncleared("bounce_rate", [f"bounce:lead:{pk}" for day in days for pk in day.bounces], cleared_before)
    facts.unsubscribe_evidence = uncleared("unsubscribe_rate", [f"unsubscribe:lead:{pk}" for day in days for pk in day.unsubscribes], cleared_before)
    facts.complaint_evidence = uncleared("complaint_rate", complaint_evidence(days), cleared_before)
    # The reply floor reads the whole window (a reply is not taken back by clearing a hold); a
    # cleared reply-floor hold covered its unanswered sends, so only new ones raise it again.
    facts.reply_evidence = [f"unanswered:card:{pk}" for pk in sent if pk not in answered]
    facts.bounces, facts.unsubscribes = len(facts.bounce_evidence), len(facts.unsubscribe_evidence)
    facts.complaints = len(facts.complaint_evidence)
    facts.replies = len(answered)
    return facts


def complaint_evidence(days) -> list[str]:
    """Name each complaint, one identity per complaint whoever told us: `complaint:<send day>:<n>`.

    The operator may enter a day's complaints by hand (`RampDay.reported_complaints`)
    before or after GHL's webhooks for the same emails arrive: the day holds as
    many complaints as the larger of the two sources, so the same complaint told
    both ways is one piece of evidence and keeps its name when the second arrives.
    """
    return [f"complaint:{day.date}:{n}" for day in days for n in range(1, day.complaints + 1)]


def uncleared(source: str, evidence: list[str], before: dt.datetime) -> list[str]:
    """The evidence no hold of `source` cleared before `before` covered."""
    cleared = cleared_evidence(source, before=before)
    return [item for item in evidence if item not in cleared]


def deliverability_facts(facts: stop_conditions.QueueFacts | None = None, *, now: dt.datetime | None = None) -> stop_conditions.QueueFacts:
    """What the stop conditions judge now: the window of send days up to today's, as the outcomes stand.

    Cheap enough to run inside every webhook's transaction (`outreach.inbound.evidence`).
    """
    now = now or timezone.now()
    policy = _policy()
    return window_facts(claim_date(policy, now), cleared_before=now, policy=policy, facts=facts)


def day_window_facts(date: dt.date, *, policy: RampPolicy | None = None) -> stop_conditions.QueueFacts:
    """The window a day's verdict reads: its send days up to `date`, as the outcomes stand now.
    Evidence counts unless a hold covering it was cleared before the day's window opened."""
    policy = policy or _policy()
    return window_facts(date, cleared_before=window_bounds(policy, date)[0], policy=policy)


def send_counts(day: SendDay) -> dict:
    """A send day's counts as the daily report keeps them."""
    return {
        "sent": len(day.sent),
        "replies": len(day.replies),
        "bounces": len(day.bounces),
        "unsubscribes": len(day.unsubscribes),
        "complaints": day.complaints if day.complaints_recorded else None,
    }


def restate(*, lead_id: int | None = None, send_day: dt.date | None = None, now: dt.datetime | None = None) -> list[dt.date]:
    """Store again the counts and window of every reported day an outcome just changed; return those days.

    With `lead_id`, the days whose window holds the lead's latest email (the one
    its outcome answers); with `send_day`, the days whose window holds that day;
    without either, the days of the last window.
    """
    policy = _policy()
    today = claim_date(policy, now)
    first = today - dt.timedelta(days=DELIVERABILITY_WINDOW_DAYS - 1)
    if lead_id is not None:
        latest = PendingEmail.objects.filter(lead_id=lead_id, status=CardStatus.SENT).order_by("-sent_at", "-pk").values_list("queued_at", "sent_at").first()
        if latest is None:
            return []
        first = email_day(policy, *latest)
    elif send_day is not None:
        first = send_day
    last = min(today, first + dt.timedelta(days=DELIVERABILITY_WINDOW_DAYS - 1))
    restated = []
    for day in RampDay.objects.filter(date__gte=first, date__lte=last).exclude(report={}):
        own = day_outcomes(day.date, policy=policy)
        stored = day.kpis or {}
        counts = KpiCounts(**{**send_counts(own), "opens": stored.get("opens"), "meetings": stored.get("meetings")})
        window = stop_conditions.window_counts(day_window_facts(day.date, policy=policy))
        report.restate(day, counts, window, arrived=stored.get(report.ARRIVED) or {})
        restated.append(day.date)
    return restated
