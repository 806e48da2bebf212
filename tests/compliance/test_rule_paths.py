"""Every way a rule is written runs the one re-check of the open cards (compliance.services).

These fail when someone adds a path that writes rules past it: a signal
receiver (which bulk writes never fire), an ORM write in product code, or a
rule admin whose delete action skips the service.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.db.models import signals

from compliance.admin import ExclusionRuleAdmin
from compliance.models import DoNotContact, ExcludedDomain
from compliance.services import add_rule_if_missing, save_rule
from outreach.models import PendingEmail

RULE_MODELS = (ExcludedDomain, DoNotContact)
PRODUCT_APPS = ("caio", "compliance", "ghl", "outreach", "ramp")
# An ORM write of rules that does not go through compliance.services.
ORM_WRITE = re.compile(
    r"\b(ExcludedDomain|DoNotContact)\.objects\b[^\n]*\.(create|get_or_create|update_or_create|bulk_create|bulk_update|update|delete)\("
)
SERVICES = Path("compliance/services.py")


@pytest.mark.parametrize("model", RULE_MODELS, ids=lambda model: model.__name__)
@pytest.mark.parametrize("signal", ["pre_save", "post_save", "pre_delete", "post_delete"])
def test_no_signal_receiver_stands_in_for_the_service(model, signal):
    sync_receivers, async_receivers = getattr(signals, signal)._live_receivers(model)
    assert [*sync_receivers, *async_receivers] == []


def test_product_code_writes_rules_only_through_the_service():
    base = Path(settings.BASE_DIR)
    offenders = []
    for app in PRODUCT_APPS:
        for path in sorted((base / app).rglob("*.py")):
            relative = path.relative_to(base)
            if relative == SERVICES or "migrations" in relative.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if ORM_WRITE.search(line):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


def test_the_scan_recognises_the_writes_it_forbids():
    for line in (
        'ExcludedDomain.objects.create(domain="x.example")',
        'DoNotContact.objects.get_or_create(email="a@x.example")',
        "ExcludedDomain.objects.bulk_create(rules)",
        'DoNotContact.objects.filter(domain="x.example").delete()',
        'ExcludedDomain.objects.filter(pk=1).update(domain="y.example")',
    ):
        assert ORM_WRITE.search(line), line
    assert not ORM_WRITE.search('ExcludedDomain.objects.filter(domain="x.example").exists()')


@pytest.mark.parametrize("model", RULE_MODELS, ids=lambda model: model.__name__)
def test_each_rule_admin_saves_and_deletes_through_the_service(model):
    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, ExclusionRuleAdmin)
    for method in ("save_model", "delete_model", "delete_queryset"):
        assert getattr(type(model_admin), method).__qualname__ == f"ExclusionRuleAdmin.{method}", method


@pytest.mark.django_db
@pytest.mark.redis
def test_the_delete_selected_action_gives_the_cards_their_pass_back(admin_client, queue):
    # Only an administrator may take an address off the do-not-contact list.
    save_rule(ExcludedDomain(domain="customer.example"))
    save_rule(DoNotContact(email="cy@other.example"))
    assert PendingEmail.objects.filter(compliance_passed=True).count() == 0

    for model, rules in (("excludeddomain", ExcludedDomain), ("donotcontact", DoNotContact)):
        response = admin_client.post(
            f"/admin/compliance/{model}/",
            {"action": "delete_selected", "_selected_action": list(rules.objects.values_list("pk", flat=True)), "post": "yes"},
        )
        assert response.status_code == 302
        assert not rules.objects.exists()

    assert PendingEmail.objects.filter(compliance_passed=True).count() == 3


@pytest.mark.django_db
@pytest.mark.redis
def test_deleting_one_rule_in_the_admin_gives_its_cards_their_pass_back(client, operator, queue):
    rule = ExcludedDomain(domain="customer.example")
    save_rule(rule)
    client.force_login(operator)

    response = client.post(f"/admin/compliance/excludeddomain/{rule.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert PendingEmail.objects.filter(compliance_passed=True).count() == 3


@pytest.mark.django_db
@pytest.mark.redis
def test_the_demo_seed_adds_its_rules_once_and_they_hold_cards_back(queue):
    assert add_rule_if_missing(DoNotContact(email="Ana@Customer.example", reason="asked")) is True
    assert add_rule_if_missing(DoNotContact(email="ana@customer.example", reason="again")) is False

    assert DoNotContact.objects.get().reason == "asked"
    assert PendingEmail.objects.get(pk=queue["ana"].pk).compliance_passed is False
