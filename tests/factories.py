"""Small factories with valid defaults (plain functions: no extra dependency)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.utils import timezone

from caio.models import ApiToken
from compliance.footer import footer_for_lead
from outreach.approval import approval_record
from outreach.models import CadenceStep, Campaign, CardStatus, Lead, PendingEmail, RejectionTag, Tier

_seq = itertools.count(1)

BODY = (
    "Hi {first},\n\nI noticed {company} is growing its paid media team. We help teams like yours "
    "cut reporting time in half.\n\nWould you be open to a 15-minute call next Tuesday?\n\nBest,\nAlex Rivera\nCAIO"
)


def make_user(username: str | None = None, *, role: str | None = None, superuser: bool = False, password: str = "pw-Secret-123") -> User:
    username = username or f"user{next(_seq)}"
    user = User.objects.create_user(username=username, password=password, is_staff=True, is_superuser=superuser)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def personal_token(username: str) -> str:
    """Return a new personal API token of `username`: their credentials for the ramp commands on the terminal."""
    return ApiToken.issue(f"{username}-terminal", user=User.objects.get(username=username))[1]


def make_lead(**fields) -> Lead:
    n = next(_seq)
    defaults = {
        "email": f"lead{n}@acme{n}.example",
        "first_name": "Celia",
        "last_name": f"Kettering{n}",
        "company": f"Acme {n}",
        "title": "VP Marketing",
        "tier": Tier.TIER_1,
        "source": "wpromote",
    }
    defaults.update(fields)
    return Lead.objects.create(**defaults)


def make_campaign(**fields) -> Campaign:
    n = next(_seq)
    defaults = {"ref": f"campaign-{n}", "name": f"Campaign {n}", "tier": Tier.TIER_1, "classifier": "outbound_tier_1"}
    defaults.update(fields)
    campaign = Campaign.objects.create(**defaults)
    for number, delay in ((1, 0), (2, 3), (3, 4)):
        CadenceStep.objects.create(
            campaign=campaign,
            number=number,
            delay_days=delay,
            subject_template="Quick question, {{ lead.first_name }}",
            body_template="Hi {{ lead.first_name }},\n\nWould a 15-minute call help?\n\nBest,\nAlex Rivera",
        )
    return campaign


# Only an approval leads to these: the card carries its reviewer and what the reviewer approved.
APPROVED_STATUSES = CardStatus.APPROVAL_HELD | CardStatus.SEND_ERROR


def reviewer() -> User:
    """The person recorded as having approved the factory's cards (one per test database)."""
    return User.objects.get_or_create(username="factory-reviewer", defaults={"is_staff": True})[0]


def approval_fields(card: PendingEmail) -> dict:
    """What an approval stores with the move to approved (as outreach.review.approve does), by the factory's reviewer."""
    return {"reviewed_by": reviewer(), "reviewed_at": timezone.now(), **approval_record(card)}


def a_rejection_tag() -> RejectionTag:
    """A tag a reviewer may choose, for cards a test builds rejected."""
    tag, _ = RejectionTag.objects.get_or_create(slug="test-off-target", defaults={"label": "Off target (test)"})
    return tag


def make_card(*, status: str = CardStatus.PENDING, lead: Lead | None = None, campaign: Campaign | None = None, step_number: int = 1, age_hours: float = 1, **fields) -> PendingEmail:
    """Create a card directly in `status` (tests only: real code moves status through transition()).

    A card past approval gets a reviewer and the record of what was approved
    (outreach.approval), as approval stores them, unless the test names its
    own; a sent card gets a GHL message id unless given one. States the product
    never reaches are refused (models.CARD_INVARIANTS): a card past approval
    without a hash, a sent card without `sent_at`, a rejected card without a tag.
    """
    lead = lead or make_lead()
    campaign = campaign or make_campaign()
    step = campaign.steps.get(number=step_number)
    card = PendingEmail(
        lead=lead,
        campaign=campaign,
        step=step,
        subject=f"Quick question, {lead.first_name}",
        body=BODY.format(first=lead.first_name, company=lead.company),
        footer=footer_for_lead(lead.pk),
        classifier=campaign.classifier,
        campaign_ref=campaign.ref,
        route=campaign.route,
        created_at=timezone.now() - timedelta(hours=age_hours),
    )
    for name, value in fields.items():
        setattr(card, name, value)
    card.status = status
    if status in APPROVED_STATUSES:
        if "reviewed_by" not in fields:
            card.reviewed_by = reviewer()
            card.reviewed_at = card.reviewed_at or card.created_at
        if "approved_content_hash" not in fields:
            record = approval_record(card)
            card.approved_parts, card.approved_content_hash = record["approved_parts"], record["approved_content_hash"]
        if not card.approved_content_hash:
            raise ValueError(f"A {status} card always has the content hash its reviewer approved.")
    if status == CardStatus.SENT:
        if card.sent_at is None:
            raise ValueError("A sent card always has sent_at: pass it.")
        # GHL's answer names the message; a test that does not care gets one of its own.
        card.ghl_message_id = card.ghl_message_id or f"msg-{card.code.hex[:20]}"
    if status == CardStatus.REJECTED and card.rejection_tag_id is None:
        raise ValueError("A rejected card always has a rejection tag: pass rejection_tag.")
    card.save()
    return card
