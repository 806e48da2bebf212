"""Small factories with valid defaults (plain functions: no extra dependency)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.utils import timezone

from caio.models import ApiToken
from compliance.footer import footer_for_lead
from outreach.models import CadenceStep, Campaign, CardStatus, Lead, PendingEmail, Tier

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


# Only an approval leads to these: the card carries the content hash its reviewer approved.
APPROVED_STATUSES = {CardStatus.APPROVED, CardStatus.QUEUED, CardStatus.SENDING, CardStatus.SENT, CardStatus.UNKNOWN, CardStatus.FAILED}


def make_card(*, status: str = CardStatus.PENDING, lead: Lead | None = None, campaign: Campaign | None = None, step_number: int = 1, age_hours: float = 1, **fields) -> PendingEmail:
    """Create a card directly in `status` (tests only: real code moves status through transition()).

    A card past approval gets the hash of its content, as approval stores it;
    one without any hash is a card the product cannot make, and is refused.
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
        if "approved_content_hash" not in fields:
            card.approved_content_hash = card.content_hash()
        if not card.approved_content_hash:
            raise ValueError(f"A {status} card always has the content hash its reviewer approved.")
    card.save()
    return card
