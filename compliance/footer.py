"""The canonical footer: one function, the same for every card."""

from __future__ import annotations

from django.conf import settings


def canonical_footer(*, unsubscribe_url: str) -> str:
    """Return the footer every email carries: opt-out line, unsubscribe link, sender and postal address."""
    return "\n".join(
        [
            "--",
            settings.OPT_OUT_LINE,
            f"Unsubscribe: {unsubscribe_url}",
            settings.SENDER_NAME,
            settings.SENDER_POSTAL_ADDRESS,
        ]
    )
