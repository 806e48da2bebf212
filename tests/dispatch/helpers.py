"""Builders shared by the dispatch tests."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from unittest import mock

from django.utils import timezone

from ghl.client import Contact, GhlClient, SentMessage
from outreach.models import CardStatus, PendingEmail
from ramp.models import PreflightRun, RampPolicy
from tests.factories import make_card


def approved_card(**fields) -> PendingEmail:
    """An approved card whose approval covers exactly its current content."""
    return make_card(status=CardStatus.APPROVED, **fields)


def queued_card(**fields) -> PendingEmail:
    """A card already claimed by a live cycle (as start_live_cycle leaves it)."""
    card = approved_card(**fields)
    PendingEmail.objects.filter(pk=card.pk).update(status=CardStatus.QUEUED, queued_at=timezone.now())
    card.refresh_from_db()
    return card


def green_gates(**policy) -> None:
    """A fresh passed preflight, a sending window open all day, and the ramp policy given
    (defaults otherwise: cap 5, tier_1, 1 per company)."""
    PreflightRun.objects.create(passed=True, ran_by="test")
    policy.setdefault("window_start", dt.time(0, 0))
    policy.setdefault("window_end", dt.time.max)
    RampPolicy.objects.update_or_create(pk=1, defaults=policy)


def fake_client(*, contact: Contact | None = None, sent: SentMessage | None = None) -> mock.MagicMock:
    """A GhlClient double with the real method signatures."""
    client = mock.create_autospec(GhlClient, instance=True)
    client.resolve_contact.return_value = contact or Contact(
        id="contact00000000000001", email="x@example.com", dnd=False, email_dnd_status="", new=False
    )
    client.send_email.return_value = sent or SentMessage(
        conversation_id="conv0000000000000001", message_id="msg00000000000000001", email_message_id="eml00000000000000001"
    )
    client.find_sent_email.return_value = None
    return client


@contextlib.contextmanager
def patch_client(client) -> Iterator[None]:
    """Give the job and reconcile `client` wherever they ask for a GHL client."""
    with (
        mock.patch("outreach.sending.job.get_client", autospec=True, return_value=client),
        mock.patch("outreach.sending.reconcile.get_client", autospec=True, return_value=client),
    ):
        yield


def settled_by_reconcile(card_pk: int):
    """Run reconcile once, as its schedule does; return its report when it settled the card (sent or requeued), else None."""
    from datetime import timedelta

    from outreach.sending.reconcile import reconcile

    report = reconcile(apply=True, grace=timedelta(0))
    return report if card_pk in report.sent or card_pk in report.requeued else None
