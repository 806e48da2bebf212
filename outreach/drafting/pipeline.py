"""The drafting pipeline: enroll eligible leads of a source and draft step 1.

`run_pipeline` is what `manage.py run_pipeline` calls. `draft_cards` is shared
with the cadence engine: it drafts a step for many leads, adds the canonical
footer, runs the compliance checks for the whole batch at once, and returns
only the cards that pass; every other lead comes back as an error with the
reason. Nothing that fails drafting or the checks becomes a card: the review
queue only ever shows cards that could be approved.

Speed: leads are read once, the exclusion rules once per run, the checks'
facts once per batch, and enrollments and cards are written with
bulk_create, so a run drafts thousands of cards a second (bench/pipeline).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When
from django.utils import timezone

from outreach.checks import CheckContext, evaluate, load_excluded_domains
from outreach.drafting.budget import budget_reached
from outreach.drafting.drafters import DEFAULT_DRAFTER, Draft, Drafter, DraftingError, card_from_draft
from outreach.drafting.model import drafter_for
from outreach import eligibility
from outreach.models import CadenceStep, Campaign, CardStatus, Enrollment, Lead, ModelCall, PendingEmail, RejectionTag
from outreach.transitions import TransitionError, record_drafted, transition
from ramp.limits import sendable_tiers
from ramp.models import RampPolicy

MODES = ("shadow", "production")
MODEL_GROUP_FACTOR = 4
BATCH_SIZE = 1000
# Who the creation of a card is recorded under (outreach.transitions.record_drafted).
PIPELINE_LABEL = "run_pipeline"


class PipelineError(Exception):
    """The run cannot start: the message says what to change (nothing was written)."""


@dataclass
class LeadError:
    lead_id: int
    email: str
    stage: str  # "drafting" or "checks"
    message: str


@dataclass
class DraftStats:
    """What happened to a batch of leads; shared by the pipeline and the cadence engine."""

    drafted: list[int] = field(default_factory=list)
    # One line per card drafted (or, in a dry run, that would be): the lead and the step.
    drafted_for: list[str] = field(default_factory=list)
    errors: list[LeadError] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    seconds_drafting: float = 0.0
    seconds_checks: float = 0.0
    seconds_writing: float = 0.0



@dataclass
class PipelineReport(DraftStats):
    source: str = ""
    campaign_ref: str = ""
    mode: str = "production"
    applied: bool = False
    seconds_total: float = 0.0

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "campaign": self.campaign_ref,
            "mode": self.mode,
            "applied": self.applied,
            "drafted": len(self.drafted),
            "card_ids": self.drafted if self.applied else [],
            "skipped": dict(sorted(self.skipped.items())),
            "errors": [error.__dict__ for error in self.errors],
            "seconds": round(self.seconds_total, 3),
        }


def resolve_campaign(campaign_ref: str | None, *, mode: str) -> Campaign:
    """Return the campaign to draft for.

    Rule without --campaign: the one active campaign whose tier the ramp policy
    allows. None or several is an error that names the candidates, because
    guessing a campaign would put the wrong message in front of real people.
    In production mode the campaign's tier must be sendable at this ramp level
    (the allowed tiers, and tier_2's canary share after a graduation); shadow
    mode (never dispatched) may draft for any tier.
    """
    if mode not in MODES:
        raise PipelineError(f"Unknown mode {mode!r}: use shadow or production.")
    policy = RampPolicy.get()
    allowed = list(policy.allowed_tiers)
    sendable = sendable_tiers(policy)
    if campaign_ref:
        campaign = Campaign.objects.filter(ref=campaign_ref).first()
        if campaign is None:
            known = ", ".join(Campaign.objects.values_list("ref", flat=True)[:20]) or "none"
            raise PipelineError(f"No campaign {campaign_ref!r} (known: {known}).")
        if not campaign.is_active:
            raise PipelineError(f"Campaign {campaign.ref} is not active.")
    else:
        candidates = list(Campaign.objects.filter(is_active=True, tier__in=allowed).order_by("ref"))
        if not candidates:
            raise PipelineError(f"No active campaign targets an allowed tier ({', '.join(allowed)}); pass --campaign.")
        if len(candidates) > 1:
            refs = ", ".join(c.ref for c in candidates)
            raise PipelineError(f"Several active campaigns target the allowed tiers ({refs}); pass --campaign REF.")
        campaign = candidates[0]
    if mode == "production" and campaign.tier not in sendable:
        raise PipelineError(
            f"Campaign {campaign.ref} targets {campaign.tier}, which is not sendable at this ramp level "
            f"(sendable: {', '.join(sendable)}); use --mode shadow to draft it without sending."
        )
    return campaign


def is_canary_lane(campaign: Campaign, policy: RampPolicy) -> bool:
    """Return whether production cards of `campaign` go out only through the canary share of the cap."""
    return campaign.tier not in policy.allowed_tiers


def skip_reason(lead: Lead, campaign: Campaign, *, enrolled: bool) -> str:
    """Return why `lead` is not eligible for `campaign`, or '' when it is.

    First the lead-level rule under which no card is drafted (`eligibility.LEAD_RULES`,
    read by `_pick_leads` as the `lead_reason` annotation), under its code.
    """
    reason = getattr(lead, eligibility.LEAD_REASON)
    if reason != eligibility.ELIGIBLE:
        return reason
    if enrolled:
        return "already enrolled"
    if lead.tier != campaign.tier:
        return f"not {campaign.tier}"
    return ""


def draft_cards(
    items: Sequence[tuple[Lead, Enrollment | None]],
    *,
    campaign: Campaign,
    step: CadenceStep,
    drafter: Drafter,
    shadow: bool,
    excluded_domains: Collection[str],
    stats: DraftStats,
    canary: bool = False,
) -> list[tuple[PendingEmail, Enrollment | None]]:
    """Draft `step` for each (lead, enrollment) and return the unsaved cards that pass every check.

    1. Draft through `drafter`; a DraftingError becomes a LeadError (stage drafting).
    2. Add the canonical footer and the card's labels.
    3. Judge the batch with one CheckContext; a failing card becomes a LeadError
       (stage checks) carrying the failures, and is dropped.
    """
    started = time.perf_counter()
    cards: list[tuple[PendingEmail, Enrollment | None]] = []
    for (lead, enrollment), draft in zip(items, draft_all(drafter, [lead for lead, _ in items], step)):
        if isinstance(draft, DraftingError):
            stats.errors.append(LeadError(lead.pk, lead.email, "drafting", str(draft)))
            continue
        card = card_from_draft(
            draft,
            lead=lead,
            campaign=campaign,
            step=step,
            drafter_name=drafter.name,
            enrollment=enrollment,
            is_shadow=shadow,
            is_canary=canary,
        )
        cards.append((card, enrollment))
    checked = time.perf_counter()
    stats.seconds_drafting += checked - started

    context = CheckContext.for_cards([card for card, _ in cards], excluded_domains=excluded_domains)
    passing = []
    checked_at = timezone.now()
    for card, enrollment in cards:
        result = evaluate(card, context=context)
        if not result.passed:
            stats.errors.append(LeadError(card.lead.pk, card.lead.email, "checks", "; ".join(result.failures)))
            continue
        card.compliance = result.snapshot(checked_at)
        card.compliance_passed = True
        passing.append((card, enrollment))
    stats.seconds_checks += time.perf_counter() - checked
    return passing


def draft_all(drafter: Drafter, leads: Sequence[Lead], step: CadenceStep) -> list[Draft | DraftingError]:
    """Draft `step` for each lead: a Draft or the DraftingError, in order.

    A drafter with `draft_many` (the model drafter) drafts a group at once,
    concurrently; the daily model budget is checked before each group, and
    once it is reached every lead left gets the budget's message as its
    error. Each model drafting, card or error, is recorded as a ModelCall.
    """
    if not hasattr(drafter, "draft_many"):
        results: list[Draft | DraftingError] = []
        for lead in leads:
            try:
                results.append(drafter.draft(lead, step))
            except DraftingError as exc:
                results.append(exc)
        return results
    drafter.prepare(step)
    # Several requests' worth a group, so `concurrency` stay in flight while the slowest of a group finishes;
    # the budget is checked between groups, so a day overshoots it by at most one group.
    group = max(1, drafter.concurrency) * MODEL_GROUP_FACTOR
    results = []
    for start in range(0, len(leads), group):
        chunk = leads[start : start + group]
        stop = budget_reached()
        if stop:
            results += [DraftingError(stop) for _ in chunk]
            continue
        drafts = drafter.draft_many(chunk, step)
        ModelCall.objects.bulk_create([_model_call(lead, step, draft) for lead, draft in zip(chunk, drafts)])
        results += drafts
    return results


def _model_call(lead: Lead, step: CadenceStep, draft: Draft | DraftingError) -> ModelCall:
    card_fields = draft.meta.get("card", {})
    return ModelCall(
        lead=lead,
        step=step,
        ok=isinstance(draft, Draft),
        # For a card, what the contract caught and sent back before it passed; for an error, why there is no card.
        reasons="; ".join(dict.fromkeys(draft.meta.get("reasons", []))) if isinstance(draft, Draft) else str(draft),
        attempts=card_fields.get("draft_attempts", 0),
        **{name: card_fields[name] for name in ("prompt_version", "model_name", "tokens_in", "tokens_out", "cost", "latency_ms") if name in card_fields},
    )


def run_pipeline(
    *,
    source: str,
    limit: int,
    mode: str = "production",
    campaign_ref: str | None = None,
    drafter: Drafter = DEFAULT_DRAFTER,
    apply: bool = False,
    batch_size: int = BATCH_SIZE,
    exclude_lead_ids: Collection[int] = (),
) -> PipelineReport:
    """Enroll up to `limit` eligible leads of `source` and draft their step-1 cards.

    1. Resolve the campaign (resolve_campaign); PipelineError when it cannot.
    2. Scan the source's leads, the campaign's tier first, counting each
       ineligible one under its skip reason, until `limit` eligible leads.
    3. Per batch: draft, footer, checks (draft_cards), then in one transaction
       bulk-create the enrollments and the passing cards.
    Without `apply` the same steps run inside a transaction that is rolled back.
    Idempotent: an enrolled lead is never picked again, and the database allows
    one active enrollment per lead and campaign and one live card per step.
    """
    if limit < 1:
        raise PipelineError(f"--limit must be at least 1, got {limit}.")
    if not source:
        raise PipelineError("--source is required (e.g. wpromote).")
    started = time.perf_counter()
    campaign = resolve_campaign(campaign_ref, mode=mode)
    step = campaign.steps.filter(number=1).first()
    if step is None:
        raise PipelineError(f"Campaign {campaign.ref} has no step 1.")
    # The step chooses its drafter: a model step drafts with the model whatever the caller's default.
    drafter = drafter_for(step, drafter)
    report = PipelineReport(source=source, campaign_ref=campaign.ref, mode=mode, applied=apply)

    rollback = contextlib.nullcontext() if apply else transaction.atomic()
    with rollback:
        excluded = load_excluded_domains()
        eligible = _pick_leads(source, campaign, limit=limit, report=report, exclude_lead_ids=exclude_lead_ids)
        for start in range(0, len(eligible), batch_size):
            batch = eligible[start : start + batch_size]
            cards = draft_cards(
                [(lead, None) for lead in batch],
                campaign=campaign,
                step=step,
                drafter=drafter,
                shadow=mode == "shadow",
                excluded_domains=excluded,
                stats=report,
                canary=mode == "production" and is_canary_lane(campaign, RampPolicy.get()),
            )
            _enroll_and_save(cards, campaign=campaign, report=report)
        if not apply:
            transaction.set_rollback(True)
    report.seconds_total = time.perf_counter() - started
    return report


def _pick_leads(
    source: str, campaign: Campaign, *, limit: int, report: PipelineReport, exclude_lead_ids: Collection[int] = ()
) -> list[Lead]:
    leads = eligibility.with_lead_reason(
        Lead.objects.filter(source=source).exclude(pk__in=list(exclude_lead_ids)).annotate(
            is_enrolled=Exists(Enrollment.objects.filter(lead=OuterRef("pk"), campaign=campaign)),
            tier_rank=Case(When(tier=campaign.tier, then=Value(0)), default=Value(1), output_field=IntegerField()),
        ),
        drafting=True,
    ).order_by("tier_rank", "created_at", "pk")
    eligible: list[Lead] = []
    for lead in leads.iterator(chunk_size=2000):
        reason = skip_reason(lead, campaign, enrolled=lead.is_enrolled)
        if reason:
            report.skipped[reason] += 1
            continue
        eligible.append(lead)
        if len(eligible) >= limit:
            break
    return eligible


def _enroll_and_save(cards: list[tuple[PendingEmail, None]], *, campaign: Campaign, report: PipelineReport) -> None:
    """Create each card's enrollment and the card, in one transaction for the batch.

    A concurrent run may have enrolled some of these leads since we read them:
    the batch then fails on the unique constraints and is retried lead by
    lead, each in a savepoint, counting the losers as "already enrolled".
    """
    started = time.perf_counter()
    now = timezone.now()
    try:
        with transaction.atomic():
            enrollments = [Enrollment(lead=card.lead, campaign=campaign, current_step=1, enrolled_at=now) for card, _ in cards]
            insert_rows(Enrollment, enrollments)
            # One active enrollment per lead and campaign (a DB constraint): the lead finds its row.
            pks = dict(
                Enrollment.objects.filter(
                    campaign=campaign, status=Enrollment.Status.ACTIVE, lead_id__in=[e.lead_id for e in enrollments]
                ).values_list("lead_id", "pk")
            )
            for (card, _), enrollment in zip(cards, enrollments):
                _loaded(enrollment, pks[enrollment.lead_id])
                card.enrollment = enrollment
                card.created_at = now
            insert_rows(PendingEmail, [card for card, _ in cards])
            pks = dict(PendingEmail.objects.filter(code__in=[card.code for card, _ in cards]).values_list("code", "pk"))
            for card, _ in cards:
                _loaded(card, pks[card.code])
            record_drafted([card for card, _ in cards], actor_label=PIPELINE_LABEL)
        report.drafted.extend(card.pk for card, _ in cards)
        report.drafted_for.extend(drafted_line(card) for card, _ in cards)
    except IntegrityError:
        for card, _ in cards:
            try:
                with transaction.atomic():
                    card.enrollment = Enrollment.objects.create(lead=card.lead, campaign=campaign, current_step=1, enrolled_at=now)
                    card.pk = None
                    card.save()
                    record_drafted([card], actor_label=PIPELINE_LABEL)
                report.drafted.append(card.pk)
                report.drafted_for.append(drafted_line(card))
            except IntegrityError:
                report.skipped["already enrolled"] += 1
    report.seconds_writing += time.perf_counter() - started


def drafted_line(card: PendingEmail) -> str:
    """The line a drafting report prints for one card: whom it is for, and which step."""
    return f"{card.lead.email} ({card.campaign_ref} step {card.step.number}{', shadow' if card.is_shadow else ''})"


def insert_rows(model, objs: list) -> None:
    """INSERT `objs` with one executemany: the same values bulk_create would write, without their pks.

    Why not bulk_create: on SQLite it binds at most 999 values per statement,
    so a 38-column card goes 26 rows at a time and Django compiles SQL for
    each value of each row, which took a third of the pipeline's time. One
    statement run for every row writes the same rows much faster
    (bench/pipeline). Values come from each field's own pre_save and
    get_db_prep_save, so a field added to the model is written with no change.
    """
    if not objs:
        return
    connection = transaction.get_connection(model.objects.db)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields))
    )
    rows = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _loaded(obj, pk: int) -> None:
    """Mark an inserted object as a saved row with its pk."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = type(obj).objects.db


# --- redrafting -----------------------------------------------------------------------

REDRAFT_LABEL = "redraft"


@dataclass
class RedraftReport(DraftStats):
    applied: bool = False
    # The old card each new draft replaces (new card id -> old card id).
    replaced: dict[int, int] = field(default_factory=dict)
    seconds_total: float = 0.0

    def as_dict(self) -> dict:
        return {
            "applied": self.applied,
            "drafted": len(self.drafted),
            "card_ids": self.drafted if self.applied else [],
            "replaced": {str(new): old for new, old in self.replaced.items()} if self.applied else {},
            "skipped": dict(sorted(self.skipped.items())),
            "errors": [error.__dict__ for error in self.errors],
            "seconds": round(self.seconds_total, 3),
        }


def redraft_candidates(*, source: str | None = None, lead_ids: Collection[int] | None = None, now=None) -> list[PendingEmail]:
    """Return the cards whose lead may get fresh copy, oldest first, one per lead and step.

    - a card cleanup rejected (the hygiene tag) with no live card for its lead
      and step since: the lead is not lost, it waits for new copy;
    - an open card held back as stale: its text is too old to approve.
    Whether the lead may still be written to at all is not decided here: the
    new draft goes through every check, as any draft does.
    """
    conditions = eligibility.Conditions.current(now)
    live_since = PendingEmail.objects.filter(
        lead=OuterRef("lead"), campaign=OuterRef("campaign"), step=OuterRef("step")
    ).exclude(status__in=CardStatus.ENDED_UNSENT)
    rejected = PendingEmail.objects.filter(status=CardStatus.REJECTED, rejection_tag__slug=RejectionTag.HYGIENE).exclude(Exists(live_since))
    stale = PendingEmail.objects.filter(status__in=CardStatus.OPEN).filter(eligibility.rule("stale").where(conditions))
    cards = (rejected | stale).select_related("lead", "campaign", "step", "enrollment").order_by("-created_at", "-pk")
    if source is not None:
        cards = cards.filter(lead__source=source)
    if lead_ids is not None:
        cards = cards.filter(lead_id__in=list(lead_ids))
    latest: dict[tuple[int, int, int], PendingEmail] = {}
    for card in cards:
        latest.setdefault((card.lead_id, card.campaign_id, card.step_id), card)
    return sorted(latest.values(), key=lambda card: (card.created_at, card.pk))


def redraft(
    *,
    source: str | None = None,
    lead_ids: Collection[int] | None = None,
    limit: int | None = None,
    drafter: Drafter = DEFAULT_DRAFTER,
    apply: bool = False,
    actor=None,
) -> RedraftReport:
    """Draft fresh copy for the leads of `redraft_candidates` (of `source` or `lead_ids`), up to `limit`.

    The old text is never approved again: each new card is a new draft of the
    same campaign step, through the drafter and every check, pending review.
    In one transaction per card, a stale open card is rejected (hygiene tag,
    "replaced by fresh copy"), the lead's enrollment is made active again at
    that step when a rejection had stopped it, and the new card is saved. A
    lead that may not be written to gets no card: one the eligibility rules about the lead hold back (suppressed,
    excluded, replied) is counted as skipped under that rule, one whose draft
    fails another check is reported as an error. Dry run unless `apply`.
    """
    if limit is not None and limit < 1:
        raise PipelineError(f"--limit must be at least 1, got {limit}.")
    started = time.perf_counter()
    report = RedraftReport(applied=apply)
    rollback = contextlib.nullcontext() if apply else transaction.atomic()
    with rollback:
        candidates = redraft_candidates(source=source, lead_ids=lead_ids)[:limit]
        lead_blocked = _lead_never_sendable([card.pk for card in candidates])
        excluded = load_excluded_domains()
        policy = RampPolicy.get()
        tag = RejectionTag.objects.get(slug=RejectionTag.HYGIENE)
        for old in candidates:
            if old.pk in lead_blocked:
                report.skipped[lead_blocked[old.pk]] += 1
                continue
            drafted = draft_cards(
                [(old.lead, old.enrollment)],
                campaign=old.campaign,
                step=old.step,
                drafter=drafter_for(old.step, drafter),
                shadow=old.is_shadow,
                excluded_domains=excluded,
                stats=report,
                canary=not old.is_shadow and is_canary_lane(old.campaign, policy),
            )
            if not drafted:
                continue
            new = drafted[0][0]
            try:
                with transaction.atomic():
                    if old.status != CardStatus.REJECTED:
                        reason = "Queue hygiene: stale, replaced by fresh copy"
                        transition(
                            old, CardStatus.REJECTED, expected=old.status, actor=actor, actor_label=REDRAFT_LABEL,
                            reason=reason, rejection_tag=tag, rejection_note=reason,
                        )
                    new.enrollment = _enrollment_for_redraft(old)
                    new.save()
                    record_drafted([new], actor=actor, actor_label=REDRAFT_LABEL, reason=f"fresh copy of card {old.pk}")
            except (IntegrityError, TransitionError) as exc:
                report.skipped[f"changed meanwhile: {exc.__class__.__name__}"] += 1
                continue
            report.drafted.append(new.pk)
            report.drafted_for.append(drafted_line(new))
            report.replaced[new.pk] = old.pk
        if not apply:
            transaction.set_rollback(True)
    report.seconds_total = time.perf_counter() - started
    return report


def _lead_never_sendable(card_ids: list[int]) -> dict[int, str]:
    """Return {card id: rule code} for the cards whose lead no new draft may reach (fresh copy changes no lead rule)."""
    cards = eligibility.with_lead_reason(PendingEmail.objects.filter(pk__in=card_ids), lead_prefix="lead__", drafting=True)
    return dict(cards.exclude(**{eligibility.LEAD_REASON: eligibility.ELIGIBLE}).values_list("pk", eligibility.LEAD_REASON))


def _enrollment_for_redraft(old: PendingEmail) -> Enrollment:
    """Return the active enrollment the new draft belongs to, re-activating the one a rejection stopped."""
    active = Enrollment.objects.filter(lead=old.lead, campaign=old.campaign, status=Enrollment.Status.ACTIVE).first()
    if active is None and old.enrollment is not None:
        Enrollment.objects.filter(pk=old.enrollment.pk).update(
            status=Enrollment.Status.ACTIVE, stop_reason="", stopped_at=None, current_step=old.step.number, next_due_at=None
        )
        active = Enrollment.objects.get(pk=old.enrollment.pk)
    if active is None:
        active = Enrollment.objects.create(lead=old.lead, campaign=old.campaign, current_step=old.step.number)
    return active
