"""The data migration to canonical identities: it rewrites stored rows, reports
collisions as records a person resolves, and holds back the open cards they touch."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from compliance.models import DoNotContact, ExcludedDomain, IdentityCollision
from compliance.rules import unresolved_collision_q
from outreach import eligibility
from outreach.checks import evaluate
from outreach.models import Lead, PendingEmail
from tests.factories import make_user

BEFORE = [("compliance", "0003_canonical_identities"), ("outreach", "0009_lead_identity_as_entered")]
AFTER = [("compliance", "0004_canonicalise_stored_identities")]

pytestmark = pytest.mark.postgres


@pytest.fixture
def old_apps(transactional_db):
    """The schema just before the data migration, then every migration again afterwards."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor.loader.project_state(BEFORE).apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def migrate_forward():
    """Run the data migration, and the later schema the models the test then reads expect."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def seed(apps):
    """Rows as the code before canonical identities stored them: trimmed and lower-cased only."""
    Lead = apps.get_model("outreach", "Lead")
    Campaign = apps.get_model("outreach", "Campaign")
    CadenceStep = apps.get_model("outreach", "CadenceStep")
    PendingEmail = apps.get_model("outreach", "PendingEmail")
    DoNotContact = apps.get_model("compliance", "DoNotContact")
    DoNotContact.objects.create(email="name@competitor.example", reason="asked")
    DoNotContact.objects.create(email="ｎａｍｅ@competitor.example", reason="legal")
    apps.get_model("compliance", "ExcludedDomain").objects.create(domain="www.customer-two.com", reason="customer")

    def lead(email, **fields):
        return Lead.objects.create(email=email, domain=email.rpartition("@")[2], tier="tier_1", source="old", **fields)

    leads = {
        "unicode": lead("anna@bücher.example"),
        "punycode": lead("anna@xn--bcher-kva.example"),
        "zero-width": lead("name@compe\u200btitor.example"),
        "full-width": lead("ｎａｍｅ@ｃｏｍｐｅｔｉｔｏｒ.example"),
        "website": lead("buyer@customer-two.com"),
        "upper domain": lead("Plain@Fine.Example"),
        "fine": lead("ok@fine.example"),
    }
    campaign = Campaign.objects.create(ref="old", name="Old", tier="tier_1", classifier="outbound_tier_1")
    step = CadenceStep.objects.create(campaign=campaign, number=1, subject_template="s", body_template="b")
    cards = {}
    for name, row in leads.items():
        code = uuid.uuid4()
        cards[name] = PendingEmail.objects.create(
            code=code, idempotency_key=f"caio-{code.hex}", lead=row, campaign=campaign, step=step, subject="Quick question",
            body="body", classifier="outbound_tier_1", campaign_ref="old", compliance={"passed": True, "failed": [], "findings": []},
            compliance_passed=True,
        )
    return {name: row.pk for name, row in leads.items()}, {name: card.pk for name, card in cards.items()}


def test_it_canonicalises_reports_collisions_and_holds_their_cards(old_apps, capsys):
    lead_ids, card_ids = seed(old_apps)

    migrate_forward()

    printed = capsys.readouterr().out
    # The zero-width lead has two: its address and its company domain are both refused.
    assert "5 collision(s) to resolve in the admin, 5 open card(s) held back." in printed
    assert "merged: DoNotContact 'ｎａｍｅ@competitor.example' into 'name@competitor.example'" in printed
    collisions = {(c.kind, c.lead_id, c.other_lead_id) for c in IdentityCollision.objects.all()}
    assert collisions == {
        ("duplicate", lead_ids["unicode"], lead_ids["punycode"]),
        ("refused", lead_ids["zero-width"], None),
        ("matches_rule", lead_ids["full-width"], None),
        ("matches_rule", lead_ids["website"], None),
    }
    # The lead already storing the canonical address keeps it; the duplicate keeps what it stored.
    assert Lead.objects.get(pk=lead_ids["punycode"]).email == "anna@xn--bcher-kva.example"
    assert Lead.objects.get(pk=lead_ids["unicode"]).email == "anna@bücher.example"
    assert Lead.objects.get(pk=lead_ids["full-width"]).email == "name@competitor.example"
    plain = Lead.objects.get(pk=lead_ids["upper domain"])
    assert (plain.email, plain.email_as_entered, plain.domain) == ("plain@fine.example", "Plain@Fine.Example", "fine.example")
    assert list(ExcludedDomain.objects.values_list("domain", "domain_as_entered")) == [("customer-two.com", "www.customer-two.com")]
    assert list(DoNotContact.objects.values_list("email", "reason")) == [("name@competitor.example", "asked; legal")]

    held = set(PendingEmail.objects.filter(unresolved_collision_q()).values_list("pk", flat=True))
    touched = {card_ids[name] for name in ("unicode", "punycode", "zero-width", "full-width", "website")}
    assert held == touched
    for name, pk in card_ids.items():
        card = PendingEmail.objects.get(pk=pk)
        result = evaluate(card)
        assert ("compliance.C019" in result.failed_ids) is (pk in touched), name
        assert card.compliance_passed is (pk not in touched), name

    # Every view of the queue holds them back, for the same reason in SQL and in Python.
    conditions = eligibility.Conditions.current()
    in_sql = dict(eligibility.with_reason(PendingEmail.objects.filter(pk__in=touched), conditions).values_list("pk", eligibility.REASON))
    for card in PendingEmail.objects.filter(pk__in=touched):
        assert eligibility.judge_one(card, conditions).reason == in_sql[card.pk] != eligibility.ELIGIBLE
    assert {in_sql[card_ids[name]] for name in ("unicode", "punycode", "zero-width")} == {"identity_collision"}


def test_a_collision_is_resolved_only_once_the_lead_is_settled(old_apps):
    lead_ids, card_ids = seed(old_apps)
    migrate_forward()
    person = make_user("resolver")
    duplicate = IdentityCollision.objects.get(kind="duplicate")

    with pytest.raises(ValidationError, match="still stores “anna@bücher.example”"):
        duplicate.resolve(by=person, note="looked at it")
    Lead.objects.filter(pk=lead_ids["unicode"]).update(do_not_contact=True, do_not_contact_reason="duplicate of the punycode lead")
    duplicate.resolve(by=person, note="kept the punycode lead; the other is do-not-contact")

    punycode_card = PendingEmail.objects.get(pk=card_ids["punycode"])
    assert "compliance.C019" not in evaluate(punycode_card).failed_ids
    assert not PendingEmail.objects.filter(unresolved_collision_q(), pk=punycode_card.pk).exists()
    assert duplicate.resolved_by == person
