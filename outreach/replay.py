"""The deterministic replay harness: recorded cases run against the rules, in a rolled-back transaction.

A case is a JSON file (see replay_cases/README.md): the world (policy, leads,
campaigns, cards, ramp days, holds, preflight, recorded GHL answers), optional
operator actions, and the expected outcomes. Each case runs with an injected
`now` through the public functions only: outreach.checks.evaluate,
outreach.queue.explain, outreach.ops.queue_facts with ramp.stop_conditions,
ramp.gates.live_cycle_blockers, outreach.dispatch.dry_run, ramp.services and
ramp.preflight.check_ghl against a fake GHL client replaying recorded answers.
Nothing it writes survives: every case ends in a rollback.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from django.conf import settings
from django.db import transaction

from compliance.footer import footer_for_lead
from outreach.models import CadenceStep, Campaign, CardStatus, Lead, PendingEmail
from ramp.models import Hold, PreflightRun, QueueTrace, RampDay, RampPolicy

DEFAULT_CASES_DIR = Path(settings.BASE_DIR) / "replay_cases"
DEFAULT_BODY = (
    "Hi {first},\n\nI noticed {company} is growing its paid media team. We help teams like yours "
    "cut reporting time in half.\n\nWould you be open to a 15-minute call next Tuesday?\n\nBest,\nAlex Rivera"
)


class CaseError(Exception):
    """The case file itself is malformed; the message names the file and the problem."""


@dataclass
class CaseResult:
    name: str
    path: str
    mismatches: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.mismatches and not self.error


class _Rollback(Exception):
    pass


# --- loading -------------------------------------------------------------------------


def load_cases(directory: Path) -> list[tuple[Path, dict]]:
    """Return (path, case) for every *.json under `directory`, sorted by name."""
    if not directory.is_dir():
        raise CaseError(f"No case directory at {directory}.")
    cases = []
    for path in sorted(directory.glob("*.json")):
        try:
            case = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CaseError(f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno}).") from None
        for key in ("name", "now", "expect"):
            if key not in case:
                raise CaseError(f"{path.name}: missing the {key!r} key.")
        cases.append((path, case))
    return cases


# --- the world ------------------------------------------------------------------------


def _aware(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise CaseError(f"{value!r} needs a UTC offset, e.g. 2026-02-19T15:30:00-05:00.")
    return moment


def _hours_ago(now: dt.datetime, hours: float | None) -> dt.datetime | None:
    return None if hours is None else now - dt.timedelta(hours=hours)


def _clear_world() -> None:
    """Delete what the rules read, inside the case's transaction, so a case sees only its own world."""
    from compliance.models import DoNotContact, ExcludedDomain

    for model in (PendingEmail, Lead, Campaign, DoNotContact, ExcludedDomain, Hold, PreflightRun, RampDay, QueueTrace, RampPolicy):
        model.objects.all().delete()


class World:
    """The rows a case describes, built in the (rolled-back) database, addressed by their keys."""

    def __init__(self, case: dict, now: dt.datetime) -> None:
        self.case, self.now = case, now
        self.leads: dict[str, Lead] = {}
        self.campaigns: dict[str, Campaign] = {}
        self.cards: dict[str, PendingEmail] = {}

    def build(self) -> World:
        _clear_world()
        policy = RampPolicy.get()
        for name, value in self.case.get("policy", {}).items():
            if name in ("window_start", "window_end"):
                value = dt.time.fromisoformat(value)
            if name == "streak_starts_on":
                value = dt.date.fromisoformat(value)
            setattr(policy, name, value)
        policy.save()
        for spec in self.case.get("campaigns", [{"key": "main"}]):
            self._campaign(spec)
        for spec in self.case.get("leads", []):
            self._lead(spec)
        for spec in self.case.get("cards", []):
            self._card(spec)
        for spec in self.case.get("ramp_days", []):
            RampDay.objects.create(**{**spec, "date": dt.date.fromisoformat(spec["date"])})
        for spec in self.case.get("holds", []):
            Hold.objects.create(raised_at=self.now - dt.timedelta(hours=1), **spec)
        for spec in self.case.get("queue_traces", []):
            QueueTrace.objects.create(taken_at=_aware(spec["taken_at"]), counts={}, drift_flagged=spec.get("drift_flagged", False))
        preflight = self.case.get("preflight", {"passed": True, "minutes_ago": 5})
        if preflight:
            PreflightRun.objects.create(
                ran_at=self.now - dt.timedelta(minutes=preflight.get("minutes_ago", 5)), passed=preflight.get("passed", True), results=[]
            )
        return self

    def _campaign(self, spec: dict) -> None:
        key = spec.get("key", "main")
        tier = spec.get("tier", "tier_1")
        campaign = Campaign.objects.create(
            ref=spec.get("ref", f"replay-{key}"),
            name=spec.get("name", key),
            tier=tier,
            classifier=spec.get("classifier", f"outbound_{tier}"),
        )
        for number in (1, 2, 3):
            CadenceStep.objects.create(
                campaign=campaign, number=number, delay_days=0 if number == 1 else 3,
                subject_template="Quick question, {{ lead.first_name }}", body_template="Hi {{ lead.first_name }}",
            )
        self.campaigns[key] = campaign

    def _lead(self, spec: dict) -> None:
        key = spec["key"]
        fields = {
            "email": spec.get("email", f"{key}@{key}-co.example"),
            "first_name": spec.get("first_name", key.capitalize()),
            "company": spec.get("company", f"{key.capitalize()} Co"),
            "tier": spec.get("tier", "tier_1"),
            "do_not_contact": spec.get("do_not_contact", False),
            "unsubscribed_at": _hours_ago(self.now, spec.get("unsubscribed_hours_ago")),
            "bounced_at": _hours_ago(self.now, spec.get("bounced_hours_ago")),
            "replied_at": _hours_ago(self.now, spec.get("replied_hours_ago")),
        }
        if "domain" in spec:
            fields["domain"] = spec["domain"]
        self.leads[key] = Lead.objects.create(**fields)

    def _card(self, spec: dict) -> None:
        try:
            lead = self.leads[spec["lead"]]
            campaign = self.campaigns[spec.get("campaign", "main")]
        except KeyError as exc:
            raise CaseError(f"card {spec.get('key')!r} names an unknown lead or campaign {exc}.") from None
        status = spec.get("status", CardStatus.APPROVED)
        card = PendingEmail(
            lead=lead,
            campaign=campaign,
            step=campaign.steps.get(number=spec.get("step", 1)),
            subject=spec.get("subject", f"Quick question, {lead.first_name}"),
            body=spec.get("body", DEFAULT_BODY.format(first=lead.first_name, company=lead.company)),
            footer=footer_for_lead(lead.pk) if spec.get("footer", "canonical") == "canonical" else spec["footer"],
            classifier=spec.get("classifier", campaign.classifier),
            campaign_ref=spec.get("campaign_ref", campaign.ref),
            route=spec.get("route", campaign.route),
            is_shadow=spec.get("is_shadow", False),
            is_canary=spec.get("is_canary", False),
            created_at=self.now - dt.timedelta(hours=spec.get("age_hours", 1)),
            status=status,
            sent_at=_hours_ago(self.now, spec.get("sent_hours_ago")),
        )
        card.save()
        if status != CardStatus.PENDING and not spec.get("edited_after_approval"):
            card.approved_content_hash = card.content_hash()
            PendingEmail.objects.filter(pk=card.pk).update(approved_content_hash=card.approved_content_hash)
        self.cards[spec["key"]] = card

    def key_of(self, pk: int) -> str:
        return next((key for key, card in self.cards.items() if card.pk == pk), f"#{pk}")


# --- the fake GHL client ----------------------------------------------------------------


class FakeGhlClient:
    """Answers the way the case's recorded GHL responses say (default: 200, no contact)."""

    base_url = "replay://ghl"

    def __init__(self, responses: dict) -> None:
        self.responses = responses

    def find_contact_by_email(self, email: str):
        from ghl.errors import GhlAuthError, GhlConnectionError, GhlServerError

        answer = self.responses.get("find_contact_by_email", {"status": 200})
        status = answer.get("status", 200)
        if status in (401, 403):
            raise GhlAuthError(answer.get("message", "Invalid token"), status=status)
        if status == 0:
            raise GhlConnectionError("connection refused")
        if status >= 500:
            raise GhlServerError("server error", status=status)
        return None

    def close(self) -> None:
        pass


# --- running ------------------------------------------------------------------------------


def _contains_all(label: str, wanted: list[str], got: list[str]) -> list[str]:
    return [f"{label}: expected a line containing {w!r}, got {got}" for w in wanted if not any(w in g for g in got)]


def _run_actions(world: World, actions: list[dict]) -> list[str]:
    from ramp import services

    mismatches = []
    today = world.now.astimezone(_tz()).date()
    for index, action in enumerate(actions):
        kind = action.get("do")
        try:
            if kind == "graduate":
                services.graduate(by=action.get("by", "pto"), today=today)
            elif kind == "decide":
                date = dt.date.fromisoformat(action["date"]) if "date" in action else None
                services.decide(decision=action["decision"], by=action.get("by", "pto"), reason=action.get("reason", ""), date=date)
            elif kind == "hold":
                services.raise_person_hold(reason=action["reason"], by=action.get("by", "pto"))
            elif kind == "clear":
                services.clear(hold_id=None, by=action.get("by", "pto"), reason=action.get("reason", ""))
            else:
                raise CaseError(f"action {index} has an unknown 'do': {kind!r}.")
        except services.RampError as exc:
            if not action.get("refused_contains"):
                mismatches.append(f"action {index} ({kind}) was refused: {exc}")
            elif action["refused_contains"] not in str(exc):
                mismatches.append(f"action {index} ({kind}) refused with {exc!s}, expected {action['refused_contains']!r}")
            continue
        if action.get("refused_contains"):
            mismatches.append(f"action {index} ({kind}) was expected to be refused but went through")
    return mismatches


def _tz():
    from ramp.days import operating_tz

    return operating_tz()


def evaluate_case(world: World, expect: dict) -> list[str]:
    """Compare what the rules decide for the world with the case's expected outcomes."""
    from outreach import queue
    from outreach.checks import evaluate
    from outreach.dispatch import dry_run
    from outreach.ops import queue_facts
    from ramp import preflight, stop_conditions
    from ramp.gates import live_cycle_blockers
    from ramp.limits import tier_caps
    from ramp.services import graduation_review

    now, mismatches = world.now, []
    for key, wanted in expect.get("checks", {}).items():
        result = evaluate(PendingEmail.objects.get(pk=world.cards[key].pk))
        failed = sorted(f.id for f in result.findings if not f.passed)
        if "passed" in wanted and result.passed != wanted["passed"]:
            mismatches.append(f"checks {key}: passed={result.passed}, expected {wanted['passed']} (failed: {failed})")
        missing = sorted(set(wanted.get("failed", [])) - set(failed))
        if missing:
            mismatches.append(f"checks {key}: expected {missing} to fail, failed: {failed}")

    rules = queue.QueueRules.current(now)
    for key, wanted in expect.get("classifier", {}).items():
        card = PendingEmail.objects.select_related("lead", "campaign").get(pk=world.cards[key].pk)
        reasons = queue.explain(card, rules).reasons
        if sorted(reasons) != sorted(wanted):
            mismatches.append(f"classifier {key}: reasons {reasons}, expected {wanted}")

    if "stop_conditions" in expect or expect.get("apply_stop_conditions", True):
        findings = stop_conditions.evaluate(queue_facts(now=now))
        sources = sorted(f.source for f in findings)
        if "stop_conditions" in expect and sources != sorted(expect["stop_conditions"]):
            mismatches.append(f"stop conditions {sources}, expected {sorted(expect['stop_conditions'])}")
        stop_conditions.apply(findings)

    if "holds" in expect:
        sources = sorted(Hold.objects.active().values_list("source", flat=True))
        if sources != sorted(expect["holds"]):
            mismatches.append(f"active holds {sources}, expected {sorted(expect['holds'])}")

    if "blockers" in expect:
        blockers = live_cycle_blockers(now=now)
        if expect["blockers"] == [] and blockers:
            mismatches.append(f"expected no live-cycle blocker, got {blockers}")
        mismatches += _contains_all("blockers", expect["blockers"], blockers)

    if "dispatch" in expect:
        plan = dry_run(now, check_redis=False)
        wanted = expect["dispatch"]
        selected = [world.key_of(line.pk) for line in plan.selected]
        if "selected" in wanted and selected != wanted["selected"]:
            mismatches.append(f"dispatch selected {selected}, expected {wanted['selected']}")
        held = {world.key_of(line.pk): "; ".join(line.reasons) for line in plan.held_back}
        for key, reason in wanted.get("held_back", {}).items():
            if reason not in held.get(key, ""):
                mismatches.append(f"dispatch {key}: held back for {held.get(key, '(not held back)')!r}, expected {reason!r}")
        if "remaining" in wanted and plan.remaining != wanted["remaining"]:
            mismatches.append(f"dispatch remaining {plan.remaining}, expected {wanted['remaining']}")

    if "graduation" in expect:
        review = graduation_review(today=now.astimezone(_tz()).date())
        wanted = expect["graduation"]
        if review.allowed != wanted.get("allowed", review.allowed):
            mismatches.append(f"graduation allowed={review.allowed}, expected {wanted['allowed']} ({review.reasons})")
        mismatches += _contains_all("graduation", wanted.get("reasons", []), review.reasons)

    if "ramp" in expect:
        policy = RampPolicy.get()
        got = {"current_cap": policy.current_cap(), "graduation_level": policy.graduation_level, "tier_caps": tier_caps(policy)}
        for name, value in expect["ramp"].items():
            if got.get(name) != value:
                mismatches.append(f"ramp {name} {got.get(name)}, expected {value}")

    if "ghl_check" in expect:
        fake = FakeGhlClient(world.case.get("ghl", {}))
        with mock.patch("ghl.client.get_client", return_value=fake):
            passed, detail = preflight.check_ghl(preflight.Context(now, None))
        wanted = expect["ghl_check"]
        if passed != wanted.get("passed", passed) or wanted.get("detail", "") not in detail:
            mismatches.append(f"GHL check passed={passed} {detail!r}, expected {wanted}")
    return mismatches


@contextmanager
def _rolled_back():
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def run_case(path: Path, case: dict) -> CaseResult:
    """Build the case's world, act, compare with the expectations, and roll everything back."""
    result = CaseResult(name=case["name"], path=path.name)
    try:
        with _rolled_back():
            now = _aware(case["now"])
            world = World(case, now).build()
            result.mismatches += _run_actions(world, case.get("actions", []))
            result.mismatches += evaluate_case(world, case["expect"])
    except CaseError as exc:
        result.error = str(exc)
    except Exception as exc:  # a crashing rule is a failed case, reported with its class
        result.error = f"{exc.__class__.__name__}: {exc}"
    return result


def run_all(directory: Path) -> list[CaseResult]:
    return [run_case(path, case) for path, case in load_cases(directory)]


# --- recording ------------------------------------------------------------------------------


def record_day(date: dt.date, *, name: str) -> dict:
    """Capture the queue and ramp state at the end of `date` into a case whose expectations are what the rules say now.

    The result is a regression case: replaying it later fails when a rule starts deciding differently.
    """
    from django.utils import timezone

    from ramp.days import day_bounds

    policy = RampPolicy.get()
    # The state as the day ended (or as it is now, for today).
    now = min(timezone.now(), day_bounds(date)[1] - dt.timedelta(seconds=1)).astimezone(_tz())
    cards = list(
        PendingEmail.objects.filter(status__in=[CardStatus.PENDING, CardStatus.APPROVED, CardStatus.SENT], created_at__lt=now)
        .select_related("lead", "campaign", "step")
        .order_by("created_at", "pk")
    )
    campaigns = {c.campaign.ref: c.campaign for c in cards}
    leads = {c.lead.pk: c.lead for c in cards}

    def hours(value: dt.datetime | None) -> float | None:
        return None if value is None else round((now - value).total_seconds() / 3600, 3)

    case: dict[str, Any] = {
        "name": name,
        "description": f"Recorded from the database for {date}.",
        "now": now.isoformat(),
        "policy": {
            "daily_cap": policy.daily_cap, "per_company_daily_cap": policy.per_company_daily_cap,
            "allowed_tiers": policy.allowed_tiers, "cap_steps": policy.cap_steps,
            "graduation_level": policy.graduation_level, "clean_days_required": policy.clean_days_required,
            "window_start": policy.window_start.isoformat(), "window_end": policy.window_end.isoformat(),
        },
        "campaigns": [{"key": ref, "ref": ref, "tier": c.tier, "classifier": c.classifier} for ref, c in campaigns.items()],
        "leads": [
            {
                "key": f"lead{pk}", "email": lead.email, "tier": lead.tier, "domain": lead.domain,
                "first_name": lead.first_name, "company": lead.company, "do_not_contact": lead.do_not_contact,
                "unsubscribed_hours_ago": hours(lead.unsubscribed_at), "bounced_hours_ago": hours(lead.bounced_at),
            }
            for pk, lead in leads.items()
        ],
        "cards": [
            {
                "key": f"card{c.pk}", "lead": f"lead{c.lead_id}", "campaign": c.campaign.ref, "step": c.step.number,
                "status": c.status, "subject": c.subject, "body": c.body,
                "footer": "canonical" if c.footer == footer_for_lead(c.lead_id) else c.footer,
                "classifier": c.classifier, "campaign_ref": c.campaign_ref, "route": c.route,
                "is_shadow": c.is_shadow, "is_canary": c.is_canary, "age_hours": hours(c.created_at),
                "sent_hours_ago": hours(c.sent_at),
                "edited_after_approval": bool(c.approved_content_hash) and c.approved_content_hash != c.content_hash(),
            }
            for c in cards
        ],
        "ramp_days": [
            {
                "date": d.date.isoformat(), "is_live": d.is_live, "cap": d.cap, "dispatched_count": d.dispatched_count,
                "sent_count": d.sent_count, "error_count": d.error_count, "hold_was_active": d.hold_was_active,
                "decision": d.decision, "kpis": d.kpis,
            }
            for d in RampDay.objects.filter(date__lte=date).order_by("-date")[:7]
        ],
        "expect": {},
    }
    # Run the rules on the captured world to fill in the expectations.
    with _rolled_back():
        world = World(case, now).build()
        case["expect"] = snapshot_expectations(world)
    return case


def snapshot_expectations(world: World) -> dict:
    from outreach import queue
    from outreach.checks import evaluate
    from outreach.dispatch import dry_run
    from outreach.ops import queue_facts
    from ramp import stop_conditions
    from ramp.services import graduation_review

    rules = queue.QueueRules.current(world.now)
    plan = dry_run(world.now, check_redis=False)
    review = graduation_review(today=world.now.astimezone(_tz()).date())
    return {
        "checks": {key: {"passed": evaluate(card).passed} for key, card in world.cards.items()},
        "classifier": {
            key: queue.explain(PendingEmail.objects.select_related("lead", "campaign").get(pk=card.pk), rules).reasons
            for key, card in world.cards.items()
            if card.status in queue.OPEN_STATUSES
        },
        "stop_conditions": sorted(f.source for f in stop_conditions.evaluate(queue_facts(now=world.now))),
        "dispatch": {"selected": [world.key_of(line.pk) for line in plan.selected]},
        "graduation": {"allowed": review.allowed},
    }
