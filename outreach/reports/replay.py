"""The deterministic replay harness: recorded cases run against the rules, each on its own throwaway database.

A case is a JSON file (see replay_cases/README.md): the world (policy, leads,
campaigns, cards, ramp days, holds, preflight, how GHL answers), optional
operator actions, and the expected outcomes. Each case runs with an injected
`now` through the public functions only: outreach.checks.evaluate,
outreach.eligibility, outreach.reports.queue_facts.queue_facts with ramp.stop_conditions,
ramp.gates.live_cycle_blockers, outreach.sending.select.dry_run, ramp.services and
ramp.preflight.check_ghl against the GHL sandbox (in this process, on a
loopback port).

The live database is never opened for writing: a migrated SQLite template is
built once per run in a temporary directory and copied for each case, and the
default connection points at that copy while the case runs. Inside it the case
still runs in a transaction that is rolled back, so nothing it would do after
a commit (a Slack notice, an enqueued job) happens.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.utils import ConnectionHandler
from django.utils import timezone

from caio.models import Deployment, GateRun
from caio.releases import latest_gate_run
from compliance.footer import footer_for_lead
from ghl.client import GhlClient
from ghl.sandbox.testing import SandboxThread
from outreach import eligibility
from outreach.checks import evaluate
from outreach.sending.select import dry_run
from outreach.approval import approval_changes, approval_record
from outreach.models import CadenceStep, Campaign, CardStatus, Lead, PendingEmail, RejectionTag, WebhookDelivery
from outreach.reports.queue_facts import queue_facts
from outreach.roles import HEAD_OF_SALES, OPERATOR
from ramp import preflight, services, stop_conditions
from ramp.days import day_bounds, operating_tz
from ramp.gates import live_cycle_blockers
from ramp.limits import tier_caps
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


class World:
    """The rows a case describes, built in the case's throwaway database, addressed by their keys."""

    def __init__(self, case: dict, now: dt.datetime) -> None:
        self.case, self.now = case, now
        self.leads: dict[str, Lead] = {}
        self.campaigns: dict[str, Campaign] = {}
        self.cards: dict[str, PendingEmail] = {}

    def build(self) -> World:
        policy = RampPolicy.get()
        for name, value in self.case.get("policy", {}).items():
            if name in ("window_start", "window_end"):
                value = dt.time.fromisoformat(value)
            if name == "streak_starts_on":
                value = dt.date.fromisoformat(value)
            setattr(policy, name, value)
        policy.save()
        # The cases' actions are taken by the operator "pto": every ramp act names a real user who may do it.
        operator, _ = get_user_model().objects.get_or_create(username="pto", defaults={"is_staff": True})
        operator.groups.add(Group.objects.get(name=OPERATOR))
        # ... and the Head of Sales' sign-off and confirmation by "hos".
        head_of_sales, _ = get_user_model().objects.get_or_create(username="hos", defaults={"is_staff": True})
        head_of_sales.groups.add(Group.objects.get(name=HEAD_OF_SALES))
        self.reviewer = head_of_sales
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
        # GHL's events reach us unless the case says otherwise: one webhook delivery received
        # this many hours before `now` (null: none at all), which is what preflight's webhook
        # intake gate looks at. Cases written before the gate existed meant a healthy intake.
        events_hours_ago = self.case.get("webhook_events_hours_ago", 0)
        if events_hours_ago is not None:
            at = self.now - dt.timedelta(hours=events_hours_ago)
            WebhookDelivery.objects.create(
                dedupe_key="replay-event", event_type="LCEmailStats", payload={}, received_at=at, processed_at=at
            )
        for spec in self.case.get("queue_traces", []):
            QueueTrace.objects.create(taken_at=_aware(spec["taken_at"]), counts={}, drift_flagged=spec.get("drift_flagged", False))
        # The runbook's gates outside the cycle: deploys, and smoke and replay runs of this instance.
        for spec in self.case.get("deploys", []):
            Deployment.objects.create(version=spec["version"], started_at=self.now - dt.timedelta(hours=spec.get("hours_ago", 1)))
        for spec in self.case.get("gate_runs", []):
            GateRun.objects.create(
                kind=spec["kind"], passed=spec["passed"], target=spec.get("target", "replay case"),
                ran_at=self.now - dt.timedelta(hours=spec.get("hours_ago", 0.5)),
            )
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
        # Only states the product reaches (models.CARD_INVARIANTS): a card past review was
        # reviewed by "hos", a sent one carries GHL's message id, a rejected one a tag.
        if status != CardStatus.PENDING:
            card.reviewed_by, card.reviewed_at = self.reviewer, card.created_at
        if status == CardStatus.SENT:
            card.sent_at = card.sent_at or card.created_at
            card.ghl_message_id = f"replay-{spec['key']}"[:64]
        if status == CardStatus.REJECTED:
            card.rejection_tag = RejectionTag.objects.get(slug=RejectionTag.HYGIENE)
        if status != CardStatus.PENDING:
            record = approval_record(card)
            card.approved_parts, card.approved_content_hash = record["approved_parts"], record["approved_content_hash"]
        card.save()
        if spec.get("edited_after_approval"):
            # The text changed after the approval: the approval names the words the reviewer saw.
            PendingEmail.objects.filter(pk=card.pk).update(body=card.body + "\n\nEdited after approval.")
            card.refresh_from_db()
        self.cards[spec["key"]] = card

    def key_of(self, pk: int) -> str:
        return next((key for key, card in self.cards.items() if card.pk == pk), f"#{pk}")


# --- GHL: the sandbox -----------------------------------------------------------------------

# A token the sandbox was never given: it answers 401 the way GHL does to a rotated token.
UNKNOWN_TOKEN = "replay-token-gone-stale"


class SandboxGhl:
    """The GHL sandbox in this process, started on first use and reset for each case."""

    def __init__(self) -> None:
        self._sandbox: SandboxThread | None = None

    def client_factory(self, answers: dict) -> Any:
        """Reset the sandbox to answer `find_contact_by_email` as the case says; return a GhlClient factory for it."""
        if self._sandbox is None:
            self._sandbox = SandboxThread().start()
        control = self._sandbox.control
        control.reset()
        control.clear_faults()
        answer = answers.get("find_contact_by_email", {"status": 200})
        status = int(answer.get("status", 200))
        overrides: dict[str, Any] = {}
        if status == 401:
            overrides["token"] = UNKNOWN_TOKEN
        elif status == 0:
            control.add_fault("contacts.search_duplicate", "disconnect")
        elif status != 200:
            control.add_fault("contacts.search_duplicate", "error", status=status, message=answer.get("message"))

        def factory(**options: Any) -> GhlClient:
            return control.client(**{**options, **overrides})

        return factory

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None


# --- throwaway databases ---------------------------------------------------------------------


@contextmanager
def _default_database_at(path: Path) -> Iterator[None]:
    """Point the default connection at the SQLite file `path` for the duration; the live one is set aside untouched."""
    live = connections[DEFAULT_DB_ALIAS]
    throwaway = ConnectionHandler({DEFAULT_DB_ALIAS: {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}})[DEFAULT_DB_ALIAS]
    # Content types are cached by alias: ids read on one database must not be used on the other.
    ContentType.objects.clear_cache()
    connections[DEFAULT_DB_ALIAS] = throwaway
    try:
        yield
    finally:
        throwaway.close()
        connections[DEFAULT_DB_ALIAS] = live
        ContentType.objects.clear_cache()


_template: Path | None = None


def migrated_template() -> Path:
    """Return an empty, migrated SQLite file, built once per process (migrating takes seconds, copying it none)."""
    global _template
    if _template is None or not _template.exists():
        directory = Path(tempfile.mkdtemp(prefix="caio-replay-template-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        path = directory / "template.sqlite3"
        with _default_database_at(path):
            call_command("migrate", interactive=False, verbosity=0)
        _template = path
    return _template


class ThrowawayDatabases:
    """Fresh copies of the migrated template in a temporary directory, one for every case."""

    def __enter__(self) -> ThrowawayDatabases:
        self._template = migrated_template()
        self._directory = tempfile.TemporaryDirectory(prefix="caio-replay-")
        self._count = 0
        return self

    @contextmanager
    def case(self) -> Iterator[None]:
        self._count += 1
        path = Path(self._directory.name) / f"case-{self._count}.sqlite3"
        shutil.copyfile(self._template, path)
        try:
            with _default_database_at(path):
                yield
        finally:
            path.unlink(missing_ok=True)

    def __exit__(self, *exc_info: Any) -> None:
        self._directory.cleanup()


# --- running ------------------------------------------------------------------------------


def _contains_all(label: str, wanted: list[str], got: list[str]) -> list[str]:
    return [f"{label}: expected a line containing {w!r}, got {got}" for w in wanted if not any(w in g for g in got)]


def _run_actions(world: World, actions: list[dict]) -> list[str]:
    mismatches = []
    today = world.now.astimezone(operating_tz()).date()
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
            elif kind == "sign_off":
                services.sign_off_quality(by=action.get("by", "hos"))
            elif kind == "confirm_quality":
                services.confirm_copy_quality(by=action.get("by", "hos"), today=today)
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


def evaluate_case(world: World, expect: dict, ghl: SandboxGhl) -> list[str]:
    """Compare what the rules decide for the world with the case's expected outcomes."""
    now, mismatches = world.now, []
    for key, wanted in expect.get("checks", {}).items():
        result = evaluate(PendingEmail.objects.get(pk=world.cards[key].pk))
        failed = sorted(f.id for f in result.findings if not f.passed)
        if "passed" in wanted and result.passed != wanted["passed"]:
            mismatches.append(f"checks {key}: passed={result.passed}, expected {wanted['passed']} (failed: {failed})")
        missing = sorted(set(wanted.get("failed", [])) - set(failed))
        if missing:
            mismatches.append(f"checks {key}: expected {missing} to fail, failed: {failed}")

    conditions = eligibility.Conditions.current(now)
    for key, wanted in expect.get("classifier", {}).items():
        reasons = eligibility.judge_one(world.cards[key], conditions).reasons
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
        review = services.graduation_review(today=now.astimezone(operating_tz()).date())
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
        context = preflight.Context(now, queue_facts, ghl.client_factory(world.case.get("ghl", {})))
        passed, detail = preflight.check_ghl(context)
        wanted = expect["ghl_check"]
        if passed != wanted.get("passed", passed) or wanted.get("detail", "") not in detail:
            mismatches.append(f"GHL check passed={passed} {detail!r}, expected {wanted}")
    return mismatches


@contextmanager
def _rolled_back() -> Iterator[None]:
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


@contextmanager
def _quiet_case_logs() -> Iterator[None]:
    """Keep a case's holds and GHL answers out of the operator's log: they happened in a throwaway world."""
    loggers = [logging.getLogger(name) for name in ("ramp", "ghl", "outreach")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def run_case(path: Path, case: dict, databases: ThrowawayDatabases, ghl: SandboxGhl) -> CaseResult:
    """Build the case's world on a fresh throwaway database, act, and compare with the expectations."""
    result = CaseResult(name=case["name"], path=path.name)
    try:
        with databases.case(), _rolled_back(), _quiet_case_logs():
            now = _aware(case["now"])
            world = World(case, now).build()
            result.mismatches += _run_actions(world, case.get("actions", []))
            result.mismatches += evaluate_case(world, case["expect"], ghl)
    except CaseError as exc:
        result.error = str(exc)
    except Exception as exc:  # a crashing rule is a failed case, reported with its class
        result.error = f"{exc.__class__.__name__}: {exc}"
    return result


def run_all(directory: Path) -> list[CaseResult]:
    cases = load_cases(directory)
    ghl = SandboxGhl()
    try:
        with ThrowawayDatabases() as databases:
            return [run_case(path, case, databases, ghl) for path, case in cases]
    finally:
        ghl.close()


# --- recording ------------------------------------------------------------------------------


def record_day(date: dt.date, *, name: str) -> dict:
    """Capture the queue and ramp state at the end of `date` into a case whose expectations are what the rules say now.

    The live database is only read; the expectations come from the rules run
    on a throwaway copy of the captured world. The result is a regression
    case: replaying it later fails when a rule starts deciding differently.
    """
    policy = RampPolicy.get()
    # The state as the day ended (or as it is now, for today).
    now = min(timezone.now(), day_bounds(date)[1] - dt.timedelta(seconds=1)).astimezone(operating_tz())
    cards = list(
        PendingEmail.objects.filter(status__in=[*CardStatus.OPEN, CardStatus.SENT], created_at__lt=now)
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
                "edited_after_approval": bool(c.approved_content_hash) and bool(approval_changes(c)),
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
        "gate_runs": [
            {"kind": run.kind, "passed": run.passed, "hours_ago": hours(run.ran_at)}
            for run in (latest_gate_run(kind) for kind in GateRun.Kind.values)
            if run is not None
        ],
        "expect": {},
    }
    # Run the rules on the captured world to fill in the expectations.
    with ThrowawayDatabases() as databases, databases.case(), _rolled_back():
        world = World(case, now).build()
        case["expect"] = snapshot_expectations(world)
    return case


def snapshot_expectations(world: World) -> dict:
    conditions = eligibility.Conditions.current(world.now)
    plan = dry_run(world.now, check_redis=False)
    review = services.graduation_review(today=world.now.astimezone(operating_tz()).date())
    return {
        "checks": {key: {"passed": evaluate(card).passed} for key, card in world.cards.items()},
        "classifier": {
            key: eligibility.judge_one(card, conditions).reasons
            for key, card in world.cards.items()
            if card.status in CardStatus.OPEN
        },
        "stop_conditions": sorted(f.source for f in stop_conditions.evaluate(queue_facts(now=world.now))),
        "dispatch": {"selected": [world.key_of(line.pk) for line in plan.selected]},
        "graduation": {"allowed": review.allowed},
    }
