"""Rendering a card into the email GHL sends: exactly the approved text plus the card's marker.

The card page previews the same `RenderedEmail` the job sends, so what the
reviewer reads is, byte for byte, what the contact receives: the From line as
GHL receives it, the subject and both parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape, urlize

from outreach.models import PendingEmail
from outreach.sending.headers import display_from, from_header

@dataclass(frozen=True)
class RenderedEmail:
    """One email as it leaves for GHL: sender, recipient, subject and both parts."""

    from_name: str
    from_email: str
    to_name: str
    to_email: str
    subject: str
    html: str
    text: str

    @property
    def from_line(self) -> str:
        """The From line exactly as sent to GHL (its emailFrom)."""
        return from_header(self.from_name, self.from_email)

    @property
    def from_shown(self) -> str:
        """The From line as the contact's mail program shows it (differs from `from_line` only when encoded or quoted)."""
        return display_from(self.from_line)

    @property
    def replies_line(self) -> str:
        """Where the contact's replies go.

        GHL's send takes no reply-to (emailReplyMode is about replying within
        a thread), so no Reply-To header is sent and replies go to the From
        address, where GHL threads them into the contact's conversation. The
        campaign therefore has no reply-to setting: one that is never sent
        would only pretend.
        """
        return f"to {self.from_email} (GHL threads replies into the conversation)"

    @property
    def to_line(self) -> str:
        return f"{self.to_name} <{self.to_email}>" if self.to_name else self.to_email


def render(card: PendingEmail) -> RenderedEmail:
    """Return the email the job sends for `card` (campaign and lead read from the card)."""
    html, text = render_email(card)
    campaign, lead = card.campaign, card.lead
    return RenderedEmail(
        from_name=campaign.from_name,
        from_email=campaign.from_email,
        to_name=lead.full_name,
        to_email=lead.email,
        subject=card.subject,
        html=html,
        text=text,
    )


def render_email(card: PendingEmail) -> tuple[str, str]:
    """Return (html, text) exactly as approved, each carrying the card's idempotency marker.

    The marker lets reconcile find the message in GHL's conversation: an HTML
    comment nobody sees, and a short reference line in the plain-text part.
    """
    paragraphs = [p for p in card.full_text.split("\n\n") if p.strip()]
    html_body = "\n".join(
        "<p>" + urlize(escape(p), autoescape=False).replace("\n", "<br>\n") + "</p>" for p in paragraphs
    )
    html = f"{html_body}\n<!-- caio:{card.idempotency_key} -->"
    text = f"{card.full_text}\n\nRef: {card.idempotency_key}"
    return html, text
