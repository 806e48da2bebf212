"""Eligibility: may this card be approved, claimed or sent now, and if not, why.

One ordered list of rules (`RULES`). Each rule has one stable code, one
message, one queryset filter (`where`: the cards it holds back, in SQL) and one
predicate on a loaded card (`holds`: a detail when it holds the card back,
'' when not). A card is *eligible* when no rule holds it back; otherwise it is
*held back* and its reason is the code of the first rule that holds it.

Every view of the queue reads these rules: the review desk's slices, counts
and SLA counts (`outreach.review`), `trace_queue` and `cleanup_queue`
(`outreach.reports.queue_facts`), the API, preflight's queue facts, the dispatch dry run, the
claim and the job's re-check. The job adds only what can change after the
claim (a hold, suppression learnt meanwhile, the text it is about to send).

The exclusion rules (do-not-contact list, excluded domains) are read live
from their tables, never from the card's stored compliance snapshot, so a rule
added in the admin reaches every view at once. The SQL side calls
`compliance.rules`; the Python side runs the compliance checks themselves
through `outreach.checks`, so there is one matcher of each rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Length, Right
from django.db.models.lookups import Exact
from django.utils import timezone

from compliance import checks as compliance_checks
from compliance.checks import EmailFacts
from compliance.models import DoNotContact, ExcludedDomain, IdentityCollision
from compliance.rules import do_not_contact_q, excluded_domain_q, unresolved_collision_q
from outreach.checks import CheckContext, build_facts
from outreach.approval import approval_changes, describe
from outreach.models import CardStatus, PendingEmail
from ramp.limits import sendable_tiers
from ramp.models import RampPolicy

ELIGIBLE = "eligible"


@dataclass(frozen=True)
class Conditions:
    """The moving parts the rules compare against, read once per pass."""

    now: dt.datetime
    stale_cutoff: dt.datetime
    max_age_hours: int
    sendable_tiers: tuple[str, ...]
    # Canary cards are live traffic only once the ramp has graduated.
    canary_open: bool
    # Cards approved after this instant may still be undone by their reviewer.
    undo_cutoff: dt.datetime

    @classmethod
    def current(cls, now: dt.datetime | None = None, *, max_age_hours: int | None = None, stale_at: dt.datetime | None = None) -> Conditions:
        """The conditions as of `now`; a card's age is measured at `stale_at` when given (a claimed card: its claim)."""
        now = now or timezone.now()
        hours = settings.PENDING_QUEUE_MAX_AGE_HOURS if max_age_hours is None else max_age_hours
        policy = RampPolicy.objects.filter(pk=1).first() or RampPolicy()
        return cls(
            now=now,
            stale_cutoff=(stale_at or now) - dt.timedelta(hours=hours),
            max_age_hours=hours,
            sendable_tiers=tuple(sendable_tiers(policy)),
            canary_open=policy.graduation_level > 0,
            undo_cutoff=now - dt.timedelta(seconds=settings.REVIEW_UNDO_SECONDS),
        )


@dataclass(frozen=True)
class Facts:
    """What the predicates read about one loaded card: the compliance facts plus the lead's sent steps."""

    email: EmailFacts
    # The highest step number of this campaign already sent to the lead (0: none).
    highest_sent_step: int


@dataclass(frozen=True)
class Rule:
    code: str
    message: str
    where: Callable[[Conditions], Q]
    holds: Callable[[PendingEmail, Facts, Conditions], str]
    # The card can never be sent as it is: approval is refused and cleanup rejects it.
    never_sendable: bool


# The compliance checks whose failure a rule of its own reports; the others are "fails_compliance".
CHECKS_NAMED_BY_RULES = frozenset(
    {"compliance.C011", "compliance.C012", "compliance.C013", "compliance.C014", "compliance.C015",
     "compliance.C016", "compliance.C017", "compliance.C018", "compliance.C019"}
)


def _failed(check: Callable[[EmailFacts], compliance_checks.Finding], facts: Facts) -> str:
    finding = check(facts.email)
    return "" if finding.passed else finding.reason


def _if_any(rules: QuerySet, hits: Q) -> Q:
    """Return `hits`, asked only when `rules` has a row at all.

    The uncorrelated EXISTS is computed once per query, so while a rule table
    is empty (the usual case for exclusions and collisions) the database skips
    the correlated lookup for every card instead of running it and finding nothing.
    The answer is the same either way: no rule row, no hit.
    """
    return Q(Exists(rules)) & hits


def _names_tier_q() -> Q:
    # The classifier ends with the lead's tier, compared exactly as Python's
    # str.endswith does (SQLite's LIKE, behind Django's endswith, ignores case
    # and costs a pattern match per card). An empty tier names nothing to check.
    tier = F("lead__tier")
    return Q(lead__tier="") | Q(Exact(Right(F("classifier"), Length(tier)), tier))


def _sent_step_q() -> Q:
    # One EXISTS rather than two: another card of the lead in this campaign that
    # was sent at this step or a later one, or that was contacted at this very
    # step. Each card then costs one probe of the (lead, campaign, status, step)
    # index instead of two, which is most of this rule's price on a long queue.
    sent_or_contacted = PendingEmail.objects.filter(lead=OuterRef("lead"), campaign=OuterRef("campaign")).filter(
        Q(status=CardStatus.SENT, step__number__gte=OuterRef("step__number"))
        | Q(step=OuterRef("step"), status__in=CardStatus.CONTACTED)
    ).exclude(pk=OuterRef("pk"))
    return Q(Exists(sent_or_contacted))


def _already_sent(card: PendingEmail, facts: Facts, conditions: Conditions) -> str:
    if facts.highest_sent_step >= card.step.number:
        return f"step {facts.highest_sent_step} of {card.campaign_ref} was already sent to the lead"
    return _failed(compliance_checks.check_not_already_contacted, facts)


def _edited_after_approval(card: PendingEmail, facts: Facts, conditions: Conditions) -> str:
    if card.status == CardStatus.APPROVED and (changes := approval_changes(card)):
        return f"{describe(changes)}: it must be reviewed again"
    return ""


def _fails_text_checks(card: PendingEmail, facts: Facts, conditions: Conditions) -> str:
    failing = [
        f"{finding.name}: {finding.reason}"
        for finding in compliance_checks.run_all(facts.email)
        if not finding.passed and finding.id not in CHECKS_NAMED_BY_RULES
    ]
    return "; ".join(failing)


def _within_undo_window(card: PendingEmail, facts: Facts, conditions: Conditions) -> str:
    if card.status == CardStatus.APPROVED and card.reviewed_at is not None and card.reviewed_at > conditions.undo_cutoff:
        return f"approved less than {settings.REVIEW_UNDO_SECONDS}s ago: the reviewer may still undo it"
    return ""


# In order: what makes a card never sendable (the lead, then the card's labels,
# then its age), then what only makes it wait or go back to review. A card's
# reason is the first rule that holds it, so every view names the same one.
RULES: tuple[Rule, ...] = (
    Rule(
        "do_not_contact",
        "the lead is do-not-contact",
        lambda c: Q(lead__do_not_contact=True) | _if_any(DoNotContact.objects.all(), do_not_contact_q()),
        lambda card, f, c: _failed(compliance_checks.check_not_do_not_contact, f),
        never_sendable=True,
    ),
    Rule(
        "unsubscribed",
        "the lead unsubscribed",
        lambda c: Q(lead__unsubscribed_at__isnull=False),
        lambda card, f, c: _failed(compliance_checks.check_not_unsubscribed, f),
        never_sendable=True,
    ),
    Rule(
        "bounced",
        "the lead's address bounced",
        lambda c: Q(lead__bounced_at__isnull=False),
        lambda card, f, c: _failed(compliance_checks.check_not_bounced, f),
        never_sendable=True,
    ),
    Rule(
        "excluded_domain",
        "the lead's domain is excluded",
        lambda c: _if_any(ExcludedDomain.objects.all(), excluded_domain_q()),
        lambda card, f, c: _failed(compliance_checks.check_domain_not_excluded, f),
        never_sendable=True,
    ),
    Rule(
        "identity_collision",
        "the lead's address collides with another lead or a rule: a person resolves it first",
        lambda c: _if_any(IdentityCollision.objects.filter(resolved_at__isnull=True), unresolved_collision_q()),
        lambda card, f, c: _failed(compliance_checks.check_no_identity_collision, f),
        # Waits rather than being rejected: once resolved, the card may go.
        never_sendable=False,
    ),
    Rule(
        "replied",
        "the lead replied: a person answers now, not the sequence",
        lambda c: Q(lead__replied_at__isnull=False),
        lambda card, f, c: _failed(compliance_checks.check_not_replied, f),
        never_sendable=True,
    ),
    Rule(
        "already_sent_step",
        "this campaign step (or a later one) was already sent to the lead",
        lambda c: _sent_step_q(),
        _already_sent,
        never_sendable=True,
    ),
    Rule(
        "campaign_mismatch",
        "the card's campaign_ref is not its campaign's",
        lambda c: ~Q(campaign_ref=F("campaign__ref")),
        lambda card, f, c: _failed(compliance_checks.check_campaign_ref, f),
        never_sendable=True,
    ),
    Rule(
        "classifier_mismatch",
        "the card's classifier or the lead's tier disagrees with its campaign",
        lambda c: ~Q(classifier=F("campaign__classifier")) | ~Q(lead__tier=F("campaign__tier")) | ~_names_tier_q(),
        lambda card, f, c: _failed(compliance_checks.check_classifier, f),
        never_sendable=True,
    ),
    Rule(
        "stale",
        "drafted too long ago: draft it afresh",
        lambda c: Q(created_at__lt=c.stale_cutoff),
        lambda card, f, c: f"older than {c.max_age_hours}h" if card.created_at < c.stale_cutoff else "",
        never_sendable=True,
    ),
    Rule(
        "shadow",
        "shadow card: reviewed for training, never sent",
        lambda c: Q(is_shadow=True),
        lambda card, f, c: "shadow card (review only)" if card.is_shadow else "",
        never_sendable=False,
    ),
    Rule(
        "canary",
        "canary card: waits until the ramp graduates",
        # Spelled with a constant so the filter is empty once canaries are open.
        lambda c: Q(is_canary=True) & Q(is_canary=not c.canary_open),
        lambda card, f, c: "canary card while the ramp has not graduated" if card.is_canary and not c.canary_open else "",
        never_sendable=False,
    ),
    Rule(
        "tier_not_sendable",
        "the lead's tier is not sendable at this ramp level",
        lambda c: ~Q(lead__tier__in=c.sendable_tiers),
        lambda card, f, c: ""
        if card.lead.tier in c.sendable_tiers
        else f"{card.lead.tier} not in {', '.join(c.sendable_tiers) or 'no tier'}",
        never_sendable=False,
    ),
    Rule(
        "fails_compliance",
        "the text fails a compliance check",
        # The stored snapshot is what SQL can read; the predicate runs the text
        # checks now. They differ only when a check's settings changed since.
        # The flag first: the database then reads the JSON only of cards that failed.
        lambda c: Q(compliance_passed=False) & Q(compliance__has_key="findings"),
        _fails_text_checks,
        never_sendable=False,
    ),
    Rule(
        "edited_after_approval",
        "the send changed since it was approved",
        # SQL cannot hash the send: it sees only an approval without a hash. The
        # claim and the job run the predicate on every card they would send.
        lambda c: Q(status=CardStatus.APPROVED, approved_content_hash=""),
        _edited_after_approval,
        never_sendable=False,
    ),
    Rule(
        "undo_window",
        "just approved: it waits out the reviewer's undo window",
        lambda c: Q(status=CardStatus.APPROVED, reviewed_at__gt=c.undo_cutoff),
        _within_undo_window,
        never_sendable=False,
    ),
)

CODES: tuple[str, ...] = tuple(rule.code for rule in RULES)
_BY_CODE = {rule.code: rule for rule in RULES}


def rule(code: str) -> Rule:
    try:
        return _BY_CODE[code]
    except KeyError:
        raise ValueError(f"Unknown eligibility rule {code!r}; expected one of {', '.join(CODES)}.") from None


# --- the SQL side --------------------------------------------------------------


REASON = "eligibility_reason"


def eligible_q(conditions: Conditions) -> Q:
    """Return the filter of cards no rule holds back."""
    q = Q()
    for each in RULES:
        q &= ~each.where(conditions)
    return q


def with_reason(queryset: QuerySet, conditions: Conditions) -> QuerySet:
    """Annotate each card with its verdict as `eligibility_reason`: 'eligible' or the first rule's code.

    One CASE in rule order: the database stops at the first rule that holds,
    as `Judge` does in Python.
    """
    reason = Case(
        *(When(each.where(conditions), then=Value(each.code)) for each in RULES),
        default=Value(ELIGIBLE),
        output_field=CharField(),
    )
    return queryset.annotate(**{REASON: reason})


def count_by_reason(queryset: QuerySet, conditions: Conditions) -> dict[str, int]:
    """Return {eligible, <code>...} over `queryset`, each card counted once under its first reason, in one query."""
    counts = dict.fromkeys((ELIGIBLE, *CODES), 0)
    rows = with_reason(queryset, conditions).order_by().values_list(REASON).annotate(n=Count("pk"))
    counts.update(dict(rows))
    return counts


# --- the Python side ----------------------------------------------------------------


@dataclass
class Verdict:
    """One card and every rule that holds it back, in rule order."""

    card: PendingEmail
    reasons: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.reasons

    @property
    def reason(self) -> str:
        """The first reason, or 'eligible'."""
        return self.reasons[0] if self.reasons else ELIGIBLE

    @property
    def never_sendable(self) -> bool:
        return any(_BY_CODE[code].never_sendable for code in self.reasons)

    @property
    def label(self) -> str:
        """How every command and page writes the verdict: 'eligible' or 'held back: <code>'."""
        return ELIGIBLE if self.eligible else f"held back: {self.reason}"

    def lines(self) -> list[str]:
        return [f"{code}: {detail}" for code, detail in zip(self.reasons, self.details, strict=True)]


class Judge:
    """Judges many loaded cards (lead, campaign and step attached) with the rules loaded once."""

    def __init__(self, cards: Sequence[PendingEmail], conditions: Conditions | None = None) -> None:
        self.conditions = conditions or Conditions.current()
        self.context = CheckContext.for_cards(cards)
        self._sent_steps = _highest_sent_steps(cards)

    def judge(self, card: PendingEmail) -> Verdict:
        facts = Facts(
            email=build_facts(card, lead=card.lead, campaign=card.campaign, step=card.step, context=self.context),
            highest_sent_step=self._sent_steps.get((card.lead_id, card.campaign_id), 0),
        )
        verdict = Verdict(card)
        for each in RULES:
            detail = each.holds(card, facts, self.conditions)
            if detail:
                verdict.reasons.append(each.code)
                verdict.details.append(detail)
        return verdict


def _highest_sent_steps(cards: Iterable[PendingEmail]) -> dict[tuple[int, int], int]:
    lead_ids = {card.lead_id for card in cards}
    rows = (
        PendingEmail.objects.filter(lead_id__in=lead_ids, status=CardStatus.SENT)
        .values_list("lead_id", "campaign_id", "step__number")
    )
    highest: dict[tuple[int, int], int] = {}
    for lead_id, campaign_id, number in rows:
        key = (lead_id, campaign_id)
        highest[key] = max(highest.get(key, 0), number)
    return highest


def judge(cards: Sequence[PendingEmail], conditions: Conditions | None = None) -> list[Verdict]:
    """Return each card's verdict, in the order given."""
    cards = list(cards)
    judge_ = Judge(cards, conditions)
    return [judge_.judge(card) for card in cards]


def judge_one(card: PendingEmail, conditions: Conditions | None = None) -> Verdict:
    """Return the verdict of one card, its lead, campaign and step re-read now."""
    fresh = PendingEmail.objects.select_related("lead", "campaign", "step").get(pk=card.pk)
    return judge([fresh], conditions)[0]


def open_cards(statuses: Iterable[str] = CardStatus.OPEN) -> QuerySet:
    return (
        PendingEmail.objects.filter(status__in=list(statuses))
        .select_related("lead", "campaign", "step")
        .order_by("created_at", "pk")
    )


def judge_queue(conditions: Conditions | None = None, *, statuses: Iterable[str] = CardStatus.OPEN) -> list[Verdict]:
    """Return the verdict of every open card, oldest first."""
    return judge(list(open_cards(statuses)), conditions)
