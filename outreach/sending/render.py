"""Rendering a card into the email GHL sends: exactly the approved text plus the card's marker."""

from __future__ import annotations

from django.utils.html import escape, urlize

from outreach.models import PendingEmail


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

