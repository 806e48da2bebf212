"""Bring stored identities to their canonical form, and report what that reveals.

Run once by the data migration that introduced canonical identities, with the
migration's historical models; kept here (a plain function taking model
classes) so it is tested like any other code. It suppresses nothing silently:

- a lead whose canonical address another lead already holds keeps its stored
  address and gets a DUPLICATE collision;
- a lead whose stored address or domain the canonical form refuses (an
  invisible character, say) keeps it and gets a REFUSED collision;
- a lead that a do-not-contact entry or an excluded domain now matches, and
  did not match by the old raw comparison, gets a MATCHES_RULE collision;

and each open card of those leads fails compliance.C019 until a person
resolves the collision in the admin. Two rules that now spell the same entry
are merged into one, their reasons joined: a rule never stops matching.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from compliance.checks import covering_domain
from compliance.identity import canonical_domain, canonical_email, email_domain_of, mailbox_key

COLLISION_CHECK = {"id": "compliance.C019", "name": "No unresolved identity collision", "passed": False}


@dataclass
class CanonicalisationReport:
    leads_rewritten: int = 0
    rules_rewritten: int = 0
    rules_merged: list[str] = field(default_factory=list)
    rules_refused: list[str] = field(default_factory=list)
    collisions: list[str] = field(default_factory=list)
    cards_held: int = 0

    def lines(self) -> list[str]:
        lines = [
            f"Canonical identities: {self.leads_rewritten} lead(s) and {self.rules_rewritten} rule(s) rewritten, "
            f"{len(self.rules_merged)} rule(s) merged, {len(self.collisions)} collision(s) to resolve in the admin, "
            f"{self.cards_held} open card(s) held back."
        ]
        lines += [f"  merged: {line}" for line in self.rules_merged]
        lines += [f"  rule kept as stored (refused by the canonical form): {line}" for line in self.rules_refused]
        lines += [f"  collision: {line}" for line in self.collisions]
        return lines


def _try(function: Callable[[str], str], value: str) -> tuple[str, str]:
    """Return (canonical, '') or ('', the refusal)."""
    try:
        return function(value), ""
    except ValidationError as exc:
        return "", " ".join(exc.messages)


def _retyped(function: Callable[[str], str], stored: str, entered: str) -> tuple[str, str]:
    """`_try` of what was typed when the stored value is what case folding before IDNA made of it (ß as ss,
    ς as σ), else of what is stored."""
    found = _try(function, stored)
    if entered and found[0] and _try(function, entered.casefold())[0] == found[0]:
        canonical, refusal = _try(function, entered)
        if not refusal:
            return canonical, ""
    return found


def _canonicalise_rules(model, key: str, function: Callable[[str], str], entered: str, report: CanonicalisationReport) -> None:
    """Rewrite one rule table's key to canonical form, merging rows that now spell the same rule."""
    kept: dict[str, object] = {}
    for rule in model.objects.exclude(**{f"{key}__isnull": True}).order_by("pk"):
        stored = getattr(rule, key)
        canonical, refusal = _try(function, stored)
        if refusal:
            report.rules_refused.append(f"{model.__name__} {stored!r}: {refusal}")
            continue
        if canonical in kept:
            survivor = kept[canonical]
            reasons = [reason for reason in (survivor.reason, rule.reason) if reason]
            survivor.reason = "; ".join(dict.fromkeys(reasons))[:255]
            survivor.save(update_fields=["reason"])
            report.rules_merged.append(f"{model.__name__} {stored!r} into {canonical!r}")
            rule.delete()
            continue
        kept[canonical] = rule
        if not getattr(rule, entered):
            setattr(rule, entered, stored)
        if canonical != stored:
            report.rules_rewritten += 1
        setattr(rule, key, canonical)
    # Merged rows are deleted above, before any rewrite: a rule rewritten to the
    # value a later duplicate still stores raw would otherwise trip the unique index.
    for canonical, rule in kept.items():
        model.objects.filter(pk=rule.pk).update(**{key: canonical, entered: getattr(rule, entered)})


def canonicalise_stored(
    *, Lead, DoNotContact, ExcludedDomain, IdentityCollision, PendingEmail, stoppable_statuses: Collection[str]
) -> CanonicalisationReport:
    """Rewrite stored leads and rules to canonical form; record collisions and hold their open cards.

    `stoppable_statuses` are the card statuses not handed to GHL yet (outreach's
    CardStatus.STOPPABLE; a migration passes them as it knew them): those cards are held.
    """
    report = CanonicalisationReport()
    raw_listed = set(DoNotContact.objects.exclude(email__isnull=True).values_list("email", flat=True))
    raw_excluded = set(ExcludedDomain.objects.values_list("domain", flat=True))

    _canonicalise_rules(ExcludedDomain, "domain", canonical_domain, "domain_as_entered", report)
    _canonicalise_rules(DoNotContact, "email", canonical_email, "as_entered", report)
    listed = set(DoNotContact.objects.exclude(email__isnull=True).values_list("email", flat=True))
    listed_domains = set(DoNotContact.objects.filter(email__isnull=True).values_list("domain", flat=True))
    excluded = set(ExcludedDomain.objects.values_list("domain", flat=True))

    # Leads and address rules carry a matching key from compliance 0006 / outreach 0020 on; earlier
    # migrations call this with models that have none, and compare canonical addresses.
    keyed = any(f.name == "email_key" for f in Lead._meta.get_fields())
    key_of = mailbox_key if keyed else (lambda email: email)
    if keyed:
        listed = {mailbox_key(email) for email in listed}
    leads = list(Lead.objects.order_by("pk"))
    # With keys comes IDNA 2008: what was typed is read again, as a ß domain was once stored at its ss spelling.
    canonical_of: dict[int, tuple[str, str]] = {
        lead.pk: _retyped(canonical_email, lead.email, lead.email_as_entered if keyed else "") for lead in leads
    }
    # The lead that keeps a mailbox: the one already storing its canonical address, else the oldest.
    holder: dict[str, int] = {}
    for lead in leads:
        canonical, _ = canonical_of[lead.pk]
        if canonical and (key_of(canonical) not in holder or lead.email == canonical):
            holder[key_of(canonical)] = lead.pk

    collided: set[int] = set()

    def collide(lead, kind: str, stored: str, canonical: str, detail: str, other: int | None = None) -> None:
        # Run again by a later migration: a collision already recorded (resolved or not) is not recorded twice.
        if IdentityCollision.objects.filter(kind=kind, lead_id=lead.pk, other_lead_id=other, stored_value=stored).exists():
            return
        IdentityCollision.objects.create(
            kind=kind, lead_id=lead.pk, other_lead_id=other, stored_value=stored, canonical_value=canonical, detail=detail
        )
        report.collisions.append(f"lead {lead.pk}: {detail}")
        collided.add(lead.pk)
        if other is not None:
            collided.add(other)

    for lead in leads:
        email, email_refusal = canonical_of[lead.pk]
        domain, domain_refusal = _retyped(canonical_domain, lead.domain, lead.domain_as_entered if keyed else "") if lead.domain else ("", "")
        if email_refusal:
            collide(lead, "refused", lead.email, "", f"its stored address is refused: {email_refusal}")
        elif holder[key_of(email)] != lead.pk:
            other = holder[key_of(email)]
            collide(lead, "duplicate", lead.email, email, f"“{lead.email}” reaches the same mailbox as lead {other}'s.", other=other)
        if domain_refusal:
            collide(lead, "refused", lead.domain, "", f"its stored company domain is refused: {domain_refusal}")
        if email:
            domains = [domain or canonical_domain(email_domain_of(email))]
            domains += [email_domain_of(email)] if email_domain_of(email) not in domains else []
            raw_domains = [(lead.domain or email_domain_of(lead.email)).lower(), email_domain_of(lead.email)]
            now = (
                (f"the do-not-contact entry {email}" if key_of(email) in listed else "")
                or (f"the do-not-contact domain {hit}" if (hit := covering_domain(domains, listed_domains)) else "")
                or (f"the excluded domain {hit}" if (hit := covering_domain(domains, excluded)) else "")
            )
            before = lead.email in raw_listed or covering_domain(raw_domains, raw_excluded)
            if now and not before:
                collide(lead, "matches_rule", lead.email, email, f"“{lead.email}” now matches {now}.")
        changed = {}
        # A duplicate or refused address stays as stored until a person decides.
        if email and holder[key_of(email)] == lead.pk and email != lead.email:
            changed.update(email=email)
        if keyed and email:
            changed.update(email_key=mailbox_key(email))
        if domain and domain != lead.domain:
            changed.update(domain=domain, domain_as_entered=lead.domain)
        elif not lead.domain and email:
            changed.update(domain=canonical_domain(email_domain_of(email)))
        if not lead.email_as_entered:
            changed.update(email_as_entered=lead.email)
        if changed:
            Lead.objects.filter(pk=lead.pk).update(**changed)
            if "email" in changed or "domain" in changed:
                report.leads_rewritten += 1

    report.cards_held = _hold_open_cards(PendingEmail, collided, stoppable_statuses)
    return report


def _hold_open_cards(PendingEmail, lead_ids: set[int], statuses: Collection[str]) -> int:
    """Record failing compliance.C019 on each open card of `lead_ids`; return how many."""
    held = 0
    now = timezone.now().isoformat()
    for card in PendingEmail.objects.filter(lead_id__in=lead_ids, status__in=list(statuses)):
        snapshot = dict(card.compliance or {})
        finding = {**COLLISION_CHECK, "reason": "Held back until a person resolves the lead's identity collision."}
        snapshot["findings"] = [f for f in snapshot.get("findings", []) if f.get("id") != finding["id"]] + [finding]
        snapshot["failed"] = sorted(set(snapshot.get("failed", [])) | {finding["id"]})
        snapshot.update(passed=False, checked_at=now)
        PendingEmail.objects.filter(pk=card.pk).update(compliance=snapshot, compliance_passed=False)
        held += 1
    return held
