"""The unsubscribe page and suppress_lead: suppression beats everything."""

from __future__ import annotations

from django.utils import timezone

import pytest
from django.test import Client

from compliance.footer import unsubscribe_token, unsubscribe_url
from compliance.models import Suppression
from outreach.checks import evaluate
from outreach.models import CardStatus, CardTransition, Enrollment, Lead, PendingEmail
from outreach.inbound.suppression import suppress_lead
from tests.factories import approval_fields, make_campaign, make_card, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_with_work():
    """A lead with an active enrollment and a card in each interesting state."""
    lead = make_lead()
    other_campaign = make_campaign()
    campaign = make_campaign()
    Enrollment.objects.create(lead=lead, campaign=campaign, current_step=1)
    cards = {
        "pending": make_card(lead=lead, campaign=campaign, step_number=1),
        "approved": make_card(lead=lead, campaign=campaign, step_number=2, status=CardStatus.APPROVED),
        "queued": make_card(lead=lead, campaign=campaign, step_number=3, status=CardStatus.QUEUED),
        "sent": make_card(lead=lead, campaign=other_campaign, step_number=1, status=CardStatus.SENT, sent_at=timezone.now()),
    }
    return lead, cards


def path_for(lead) -> str:
    return f"/unsubscribe/{unsubscribe_token(lead.pk)}/"


def test_the_footer_link_points_at_the_page(client, settings):
    settings.PUBLIC_BASE_URL = "https://caio.example"
    lead = make_lead()

    assert unsubscribe_url(lead.pk) == f"https://caio.example{path_for(lead)}"


def test_get_shows_a_confirmation_and_changes_nothing(client, lead_with_work):
    lead, cards = lead_with_work

    response = client.get(path_for(lead))

    assert response.status_code == 200
    assert b"Unsubscribe" in response.content and b'method="post"' in response.content
    assert lead.email.encode() not in response.content  # the address is masked
    assert response["Cache-Control"] == "no-store"
    lead.refresh_from_db()
    assert lead.unsubscribed_at is None
    assert PendingEmail.objects.get(pk=cards["pending"].pk).status == CardStatus.PENDING


def test_one_click_post_suppresses_everything_before_answering(lead_with_work):
    lead, cards = lead_with_work
    # Mail clients post without a CSRF token (RFC 8058).
    client = Client(enforce_csrf_checks=True)

    response = client.post(path_for(lead), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert b"You are unsubscribed" in response.content
    lead.refresh_from_db()
    assert lead.unsubscribed_at is not None
    enrollment = Enrollment.objects.get(lead=lead)
    assert (enrollment.status, enrollment.stop_reason) == (Enrollment.Status.STOPPED, "unsubscribed")
    status = {name: PendingEmail.objects.get(pk=card.pk) for name, card in cards.items()}
    assert status["pending"].status == status["approved"].status == CardStatus.REJECTED
    assert status["pending"].rejection_tag.slug == "compliance_failure"
    assert status["queued"].status == CardStatus.FAILED
    assert status["queued"].last_error == "lead unsubscribed"
    assert status["sent"].status == CardStatus.SENT
    moves = CardTransition.objects.filter(card__lead=lead).values_list("to_status", "reason", "actor_label")
    assert set(moves) == {
        ("rejected", "lead unsubscribed", "suppression:one_click"),
        ("failed", "lead unsubscribed", "suppression:one_click"),
    }
    assert Suppression.objects.get(lead_id=lead.pk).source == "one_click"


def test_the_confirmation_button_posts_the_same_way(client):
    lead = make_lead()

    response = client.post(path_for(lead), {})

    assert response.status_code == 200
    assert Lead.objects.get(pk=lead.pk).unsubscribed_at is not None
    assert Suppression.objects.get(lead_id=lead.pk).source == "unsubscribe_page"


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("token", ["1:forged", "nonsense", "99999"])
def test_a_forged_token_gets_a_clear_400_and_changes_nothing(client, method, token, lead_with_work):
    lead, _ = lead_with_work

    response = getattr(client, method)(f"/unsubscribe/{token}/")

    assert response.status_code == 400
    assert b"not valid" in response.content
    assert Lead.objects.suppressed().count() == 0
    assert not Suppression.objects.exists()
    assert not CardTransition.objects.exists()


def test_a_valid_token_for_a_missing_lead_is_400(client):
    response = client.get(f"/unsubscribe/{unsubscribe_token(987654)}/")
    assert response.status_code == 400


def test_it_suppresses_a_second_time_without_moving_the_timestamp(lead_with_work):
    lead, _ = lead_with_work
    first = suppress_lead(lead, reason="unsubscribed", source="unsubscribe_page")
    stamp = Lead.objects.get(pk=lead.pk).unsubscribed_at

    again = suppress_lead(lead, reason="unsubscribed", source="ghl_webhook")

    assert first.newly_suppressed and not again.newly_suppressed
    assert (len(first.cards_rejected), len(first.cards_failed), first.enrollments_stopped) == (2, 1, 1)
    assert (again.cards_rejected, again.cards_failed, again.enrollments_stopped) == ([], [], 0)
    assert Lead.objects.get(pk=lead.pk).unsubscribed_at == stamp
    assert Suppression.objects.filter(lead_id=lead.pk).count() == 2


@pytest.mark.parametrize(
    ("reason", "field", "check_id"),
    [("bounced", "bounced_at", "compliance.C013"), ("complained", "do_not_contact", "compliance.C011"), ("do_not_contact", "do_not_contact", "compliance.C011")],
)
def test_each_reason_sets_its_flag_and_fails_its_check(reason, field, check_id):
    card = make_card(status=CardStatus.SENT, sent_at=timezone.now())
    pending = make_card(lead=card.lead)

    suppress_lead(card.lead, reason=reason, source="ghl_webhook", note="hard bounce")

    assert getattr(Lead.objects.get(pk=card.lead_id), field)
    assert check_id in evaluate(card).failed_ids
    assert PendingEmail.objects.get(pk=pending.pk).rejection_note == f"lead {reason.replace('_', '-')}"


def test_it_refuses_an_unknown_reason_and_changes_nothing():
    lead = make_lead()

    with pytest.raises(ValueError, match="Unknown suppression reason 'gone'"):
        suppress_lead(lead, reason="gone", source="test")

    assert not Lead.objects.suppressed().exists()
    assert not Suppression.objects.exists()


def test_it_handles_a_card_someone_else_moved_meanwhile(monkeypatch):
    import outreach.inbound.suppression as unsubscribe
    from outreach.transitions import transition as real_transition

    card = make_card()
    raced = []

    def reviewer_acts_first(target, to_status, **kwargs):
        # The reviewer approves the card between our read and our update.
        if not raced:
            raced.append(True)
            PendingEmail.objects.filter(pk=target.pk).update(status=CardStatus.APPROVED, **approval_fields(target))
        return real_transition(target, to_status, **kwargs)

    monkeypatch.setattr(unsubscribe, "transition", reviewer_acts_first)

    outcome = suppress_lead(card.lead, reason="unsubscribed", source="test")

    assert outcome.cards_rejected == [card.pk]
    moved = CardTransition.objects.get(card=card)
    assert (moved.from_status, moved.to_status) == (CardStatus.APPROVED, CardStatus.REJECTED)
