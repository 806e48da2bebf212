"""Adding, changing and removing an exclusion rule: the one way a rule reaches the queue.

Every path that writes a do-not-contact entry or an excluded domain (the rule
admins, their delete action, the CSV import, the demo seed) calls these
functions, never `save()` or `delete()` on the model: each stores the rule and
then, in the same transaction, runs the "rules changed" hook, which checks the
open cards the rule can change again. No signal is involved, so a bulk write
cannot slip past it, and a test fails when product code writes rules
without these functions.

Compliance never imports outreach: outreach registers the hook
(`register_rules_changed_hook`), as it registers the rule preview's provider.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from django.db import transaction
from django.db.models import QuerySet

from compliance.models import DoNotContact, ExcludedDomain

Rule = ExcludedDomain | DoNotContact
# A rule as its canonical values: (email, domain) for an address entry, (None, domain) for a domain.
RuleValues = tuple[str | None, str]
RulesChangedHook = Callable[[Sequence[RuleValues]], int]
_hook: RulesChangedHook | None = None


def register_rules_changed_hook(hook: RulesChangedHook) -> None:
    global _hook
    _hook = hook


def rule_values(rule: Rule) -> RuleValues:
    """The canonical (email, domain) a rule covers."""
    if isinstance(rule, DoNotContact):
        return rule.email or None, rule.domain
    return None, rule.domain


def rules_changed(rules: Iterable[RuleValues]) -> int:
    """Re-check the open cards these rules (added, changed or removed) can change; return how many changed."""
    values = list(dict.fromkeys(rules))
    if not values:
        return 0
    if _hook is None:
        raise RuntimeError("No rules-changed hook is registered: the outreach app is not installed.")
    return _hook(values)


def save_rule(rule: Rule) -> int:
    """Store a new or changed rule, then re-check the open cards it hits, or hit before; return how many changed."""
    with transaction.atomic():
        before = None
        if rule.pk is not None:
            stored = type(rule).objects.filter(pk=rule.pk).first()
            before = rule_values(stored) if stored is not None else None
        rule.save()
        return rules_changed([rule_values(rule), *([before] if before else [])])


def add_rule_if_missing(rule: Rule) -> bool:
    """Store `rule` unless a rule with the same values exists; return whether it was added."""
    rule.canonicalise()
    email, domain = rule_values(rule)
    if isinstance(rule, DoNotContact):
        same = DoNotContact.objects.filter(email=email) if email else DoNotContact.objects.filter(email__isnull=True, domain=domain)
    else:
        same = ExcludedDomain.objects.filter(domain=domain)
    if same.exists():
        return False
    save_rule(rule)
    return True


def remove_rule(rule: Rule) -> int:
    """Delete a rule, then re-check the open cards it held back; return how many changed."""
    with transaction.atomic():
        values = rule_values(rule)
        rule.delete()
        return rules_changed([values])


def remove_rules(rules: QuerySet) -> int:
    """Delete every rule in the queryset, then re-check the open cards they held back; return how many changed."""
    with transaction.atomic():
        values = [rule_values(rule) for rule in rules]
        rules.delete()
        return rules_changed(values)
