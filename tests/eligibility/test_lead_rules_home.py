"""One list of reasons a lead must not be emailed: `outreach.eligibility.LEAD_RULES`.

The pipeline (which leads to draft), the cadence (which sequences to stop or
hold), a card's verdict and `eligibility.held_leads()` all read it, so for
each rule in the list they name the same code. A syntax-tree scan fails when
another product module decides the question itself: a filter on the lead's
suppression fields, a call of the rule filters or of the lead checks, or a
collection of the rules' codes of its own.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import pytest
from django.utils import timezone

from compliance.models import DoNotContact, ExcludedDomain, IdentityCollision
from outreach import eligibility
from outreach.drafting.cadence import cadence_tick
from outreach.drafting.pipeline import run_pipeline
from outreach.inbound.suppression import suppress_lead
from outreach.models import Enrollment, Lead, PendingEmail
from tests.factories import make_campaign, make_lead
from tests.test_vocabulary import ROOT, product_modules

pytestmark = pytest.mark.django_db

HOME = "outreach/eligibility.py"


def _collide(lead: Lead) -> None:
    # What the canonical-identity migration records for a lead a person must look at (compliance.collisions).
    IdentityCollision.objects.create(kind="refused", lead_id=lead.pk, stored_value=lead.email, detail="its stored address is refused")


def _move_to_a_lookalike_domain(lead: Lead) -> None:
    # An address corrected on the lead page to one at a mixed-script domain (a Cyrillic о).
    local, _, domain = lead.email.partition("@")
    lead.email = f"{local}@\u043e{domain}"
    lead.save()


# How each rule comes to hold a lead, as the product gets there: a rule saved in the admin,
# an opt-out through suppress_lead, a reply recorded by the inbound webhook, a collision.
HOLD: dict[str, Callable[[Lead], object]] = {
    "do_not_contact": lambda lead: DoNotContact.objects.create(email=lead.email, reason="asked by phone"),
    "unsubscribed": lambda lead: Lead.objects.filter(pk=lead.pk).update(unsubscribed_at=timezone.now()),
    "bounced": lambda lead: Lead.objects.filter(pk=lead.pk).update(bounced_at=timezone.now()),
    "excluded_domain": lambda lead: ExcludedDomain.objects.get_or_create(domain=lead.email.split("@")[1]),
    "identity_collision": _collide,
    "replied": lambda lead: Lead.objects.filter(pk=lead.pk).update(replied_at=timezone.now()),
    "lookalike_domain": _move_to_a_lookalike_domain,
}


def test_every_lead_rule_has_a_way_to_hold_a_lead_here():
    assert tuple(HOLD) == eligibility.LEAD_CODES
    # The card's rules start with the lead's, in the same order.
    assert eligibility.CODES[: len(eligibility.LEAD_CODES)] == eligibility.LEAD_CODES


@pytest.mark.parametrize("rule", eligibility.LEAD_RULES, ids=lambda rule: rule.code)
def test_the_pipeline_the_cadence_the_card_and_the_lead_name_the_same_rule(rule):
    campaign = make_campaign(ref="agree")
    drafted = make_lead(source="drafted", email=f"ann@{rule.code.replace('_', '-')}.example")
    run_pipeline(source="drafted", limit=1, campaign_ref=campaign.ref, apply=True)
    card = PendingEmail.objects.get(lead=drafted)
    waiting = make_lead(source="later", email=f"bob@{rule.code.replace('_', '-')}.example")

    for lead in (drafted, waiting):
        HOLD[rule.code](lead)

    # The card's verdict, in Python and in SQL.
    assert eligibility.judge_one(card).reason == rule.code
    conditions = eligibility.Conditions.current()
    assert eligibility.with_reason(PendingEmail.objects.filter(pk=card.pk), conditions).values_list(eligibility.REASON, flat=True).get() == rule.code
    # The lead itself.
    assert set(eligibility.held_leads()) == {drafted, waiting}
    report = run_pipeline(source="later", limit=1, campaign_ref=campaign.ref, apply=True)
    tick = cadence_tick(apply=True)
    enrollment = Enrollment.objects.get(lead=drafted)
    if not rule.blocks_drafting:
        # Drafted, and the card waits on the desk under the rule, for a person's decision.
        (later,) = PendingEmail.objects.filter(pk__in=report.drafted)
        assert later.lead == waiting and eligibility.judge_one(later).reason == rule.code
        assert tick.stopped == {} and rule.code not in tick.skipped
        return
    # The pipeline skips the lead under the rule's code.
    assert (report.skipped, report.drafted) == ({rule.code: 1}, [])
    # The cadence stops the sequence under the code, or holds it while the rule waits for a person.
    if rule.never_sendable:
        assert tick.stopped == {rule.code: 1}
        assert (enrollment.status, enrollment.stop_reason) == (Enrollment.Status.STOPPED, rule.code)
    else:
        assert tick.stopped == {} and tick.skipped == {rule.code: 1}
        assert enrollment.status == Enrollment.Status.ACTIVE


def test_suppress_lead_reaches_the_same_rules():
    lead = make_lead()
    suppress_lead(lead, reason="unsubscribed", source="test")
    assert eligibility.with_lead_reason(Lead.objects.filter(pk=lead.pk)).values_list(eligibility.LEAD_REASON, flat=True).get() == "unsubscribed"


# --- one home -----------------------------------------------------------------------

# The lead's fields that say it must not be emailed, as a filter tests them.
LEAD_FLAG_LOOKUPS = ("do_not_contact", "unsubscribed_at__isnull", "bounced_at__isnull", "replied_at__isnull")
# The matchers each lead rule is built on: compliance owns them, only the eligibility module composes them.
RULE_MATCHERS = {
    "do_not_contact_q", "excluded_domain_q", "unresolved_collision_q", "covering_excluded_domain",
    "check_not_do_not_contact", "check_not_unsubscribed", "check_not_bounced", "check_domain_not_excluded",
    "check_no_identity_collision", "check_not_replied",
}
# Modules that read the flags to count something else than who may be emailed, and why.
COUNTERS = {
    # Deliverability evidence: how many leads sent to in the window bounced or unsubscribed since.
    "outreach/reports/queue_facts.py",
}
# Filter calls, not writes: suppress_lead sets the flags with update().
FILTER_CALLS = {"Q", "filter", "exclude", "get"}


def _called_name(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")


def lead_rule_decisions(relative: str, source: str) -> list[str]:
    """Where a module decides by itself whether a lead may be emailed."""
    if relative == HOME or relative.startswith("compliance/"):
        return []
    found = []
    for node in ast.walk(ast.parse(source, filename=relative)):
        if isinstance(node, ast.Call) and _called_name(node) in RULE_MATCHERS:
            found.append(f"{relative}:{node.lineno} calls {_called_name(node)}")
        elif isinstance(node, ast.Call) and _called_name(node) in FILTER_CALLS and relative not in COUNTERS:
            for keyword in node.keywords:
                arg = keyword.arg or ""
                if not any(arg == look or arg.endswith(f"__{look}") for look in LEAD_FLAG_LOOKUPS):
                    continue
                # `x_at__isnull=True` or `do_not_contact=False` asks for the leads not flagged yet, to flag
                # them: a writer (suppress_lead), not a rule.
                unflagged = arg.endswith("isnull") is True
                writer = isinstance(keyword.value, ast.Constant) and keyword.value.value is unflagged
                if not writer:
                    found.append(f"{relative}:{node.lineno} filters on {arg}")
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) >= 2:
            codes = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if len(codes) == len(node.elts) and set(codes) <= set(eligibility.LEAD_CODES):
                found.append(f"{relative}:{node.lineno} lists lead rule codes {codes}")
    return found


def test_no_other_module_decides_who_must_not_be_emailed():
    decisions = [
        where for path in product_modules() for where in lead_rule_decisions(path.relative_to(ROOT).as_posix(), path.read_text())
    ]
    assert decisions == [], f"read outreach.eligibility.LEAD_RULES (lead_held_q, with_lead_reason) instead: {decisions}"


def test_the_home_is_one_definition():
    homes = [
        path.relative_to(ROOT).as_posix()
        for path in product_modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        and any(getattr(target, "id", "") in {"LEAD_RULES", "LEAD_STOP_RULES"} for target in getattr(node, "targets", None) or [node.target])
    ]
    assert homes == [HOME]


@pytest.mark.parametrize(
    "source",
    [
        "LEAD_STOP_RULES = [('replied', Q(lead__replied_at__isnull=False))]",
        "leads.filter(do_not_contact=True)",
        "Q(lead__bounced_at__isnull=False) | Q(unsubscribed_at__isnull=False)",
        "listed = ExpressionWrapper(do_not_contact_q(lead_prefix=''), output_field=BooleanField())",
        "if covering_excluded_domain(lead_domains(lead), excluded): pass",
        "LEAD_RULES = ('do_not_contact', 'unsubscribed', 'bounced')",
    ],
)
def test_the_scan_finds_a_lead_rule_decided_elsewhere(source):
    assert lead_rule_decisions("outreach/probe.py", source) != []


def test_the_scan_lets_writers_of_the_flags_be():
    source = (
        "leads.filter(unsubscribed_at__isnull=True).update(unsubscribed_at=now)\n"
        "leads.filter(do_not_contact=False).update(do_not_contact=True)\nspec.update(do_not_contact=True)"
    )
    assert lead_rule_decisions("outreach/probe.py", source) == []
