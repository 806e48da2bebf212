"""The canonical footer: one function, the same for every card.

The drafting pipeline adds `footer_for_lead(lead_id)` to every card and the
footer check (compliance.C002) compares the card's footer with the same
function's output, so what is sent and what is checked cannot drift apart.

The footer carries an unsubscribe link to our own page, signed per lead with
django.core.signing: no login, no guessable ids, and no expiry (an opt-out
link must keep working long after the email was sent).
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, get_urlconf, reverse

UNSUBSCRIBE_SALT = "caio.compliance.unsubscribe"


class BadUnsubscribeToken(ValueError):
    """The token was not signed by us (forged, truncated or from another key)."""


def unsubscribe_token(lead_id: int) -> str:
    """Return the signed token naming `lead_id`; the same lead always gets the same token."""
    return _signed(settings.SECRET_KEY, int(lead_id))


@lru_cache(maxsize=65536)
def _signed(secret_key: str, lead_id: int) -> str:
    # Keyed by the secret too, so a rotated key never serves an old token.
    # Cached because drafting and the footer check both sign every card.
    return signing.Signer(key=secret_key, salt=UNSUBSCRIBE_SALT).sign(str(lead_id))


def read_unsubscribe_token(token: str) -> int:
    """Return the lead id signed in `token`, or raise BadUnsubscribeToken."""
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token or "")
        return int(value)
    except (signing.BadSignature, ValueError) as exc:
        raise BadUnsubscribeToken("This unsubscribe link is not valid.") from exc


_TOKEN_SLOT = "TOKEN-SLOT"


@lru_cache(maxsize=8)
def _unsubscribe_url_pattern(base_url: str, script_prefix: str, urlconf: str | None) -> str:
    # reverse() costs ~0.1 ms; the pipeline needs this URL twice per card, so
    # reverse once per configuration and fill the token in.
    path = reverse("unsubscribe:page", args=[_TOKEN_SLOT], urlconf=urlconf)
    return f"{base_url.rstrip('/')}{path}"


def unsubscribe_url(lead_id: int) -> str:
    """Return the public one-click unsubscribe URL for `lead_id` (PUBLIC_BASE_URL based)."""
    pattern = _unsubscribe_url_pattern(settings.PUBLIC_BASE_URL, get_script_prefix(), get_urlconf())
    return pattern.replace(_TOKEN_SLOT, unsubscribe_token(lead_id))


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


def footer_for_lead(lead_id: int) -> str:
    """Return the canonical footer of any card to `lead_id`."""
    return canonical_footer(unsubscribe_url=unsubscribe_url(lead_id))
