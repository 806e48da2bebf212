"""A person resolves identity collisions in the admin; the rule decides when they may."""

from __future__ import annotations

import pytest

from compliance.collisions import canonicalise_stored
from compliance.models import DoNotContact, ExcludedDomain, IdentityCollision
from outreach.models import CardStatus, Lead, PendingEmail
from tests.factories import make_card, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def duplicate():
    """Two leads stored before canonical identities, one mailbox: what the migration finds."""
    kept = make_lead(email="anna@xn--bcher-kva.example")
    other = make_lead(email="other@x.example")
    Lead.objects.filter(pk=other.pk).update(email="anna@bücher.example")
    card = make_card(lead=other)
    report = canonicalise_stored(
        Lead=Lead, DoNotContact=DoNotContact, ExcludedDomain=ExcludedDomain, IdentityCollision=IdentityCollision, PendingEmail=PendingEmail,
        stoppable_statuses=CardStatus.STOPPABLE,
    )
    assert report.cards_held == 1
    return IdentityCollision.objects.get(), other, card


def test_the_operator_resolves_a_collision_once_the_lead_is_settled(client, operator, duplicate):
    collision, other, card = duplicate
    client.force_login(operator)
    url = f"/admin/compliance/identitycollision/{collision.pk}/change/"

    listing = client.get("/admin/compliance/identitycollision/?state=open").content.decode()
    assert "anna@bücher.example" in listing
    refused = client.post(url, {"resolution_note": "same person"})
    assert refused.status_code == 200
    assert f"Lead {other.pk} still stores “anna@bücher.example”" in refused.content.decode()
    assert IdentityCollision.objects.get().resolved_at is None

    Lead.objects.filter(pk=other.pk).update(do_not_contact=True)
    done = client.post(url, {"resolution_note": "same person; duplicate marked do-not-contact"}, follow=True)

    assert "Resolved: open cards of lead" in done.content.decode()
    resolved = IdentityCollision.objects.get()
    assert resolved.resolved_by == operator and resolved.resolution_note.startswith("same person")


def test_the_head_of_sales_sees_collisions_but_cannot_resolve_them(client, hos, duplicate):
    collision, _, _ = duplicate
    client.force_login(hos)

    assert client.get("/admin/compliance/identitycollision/").status_code == 200
    client.post(f"/admin/compliance/identitycollision/{collision.pk}/change/", {"resolution_note": "x"})

    assert IdentityCollision.objects.get().resolved_at is None
