"""Webhook public keys as GHL hands them out (no Django here, so settings may import it).

GHL's own SDK (`verifyEd25519Signature`) takes the Ed25519 key as PEM or as the
raw 32-byte key in base64 or hex; the key a GHL user copies from their app's
settings may come in any of those forms, so we take all of them. The RSA key
of the legacy `x-wh-signature` is PEM (or base64 DER).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


class PublicKeyError(ValueError):
    """A configured key that cannot be used; the message says why, never the key."""


def load_public_key(text: str) -> Ed25519PublicKey | RSAPublicKey:
    """Return the public key in `text`: PEM (also with literal "\\n" as env files carry it),
    a raw 32-byte Ed25519 key in hex or base64, or base64 SPKI DER; raise PublicKeyError.

    Parsed once per process per text, not once per delivery.
    """
    return _parsed(text or "")


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> Ed25519PublicKey | RSAPublicKey:
    # A key that cannot be parsed raises, and lru_cache keeps no entry for it.
    text = text.strip().replace("\\n", "\n")
    if not text:
        raise PublicKeyError("is empty")
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_public_key(text.encode())
        elif _HEX_KEY.fullmatch(text):
            # 64 hex digits are also valid base64 (of 48 bytes): hex is tried first, as GHL's SDK does.
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
        else:
            raw = base64.b64decode("".join(text.split()), validate=True)
            key = Ed25519PublicKey.from_public_bytes(raw) if len(raw) == 32 else serialization.load_der_public_key(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise PublicKeyError(
            f"cannot be parsed ({type(exc).__name__}): give PEM, or the raw 32-byte key in base64 or hex"
        ) from None
    if not isinstance(key, (Ed25519PublicKey, RSAPublicKey)):
        raise PublicKeyError(f"has an unsupported type ({type(key).__name__})")
    return key


def load_ed25519_public_key(text: str) -> Ed25519PublicKey:
    key = load_public_key(text)
    if not isinstance(key, Ed25519PublicKey):
        raise PublicKeyError("is not an Ed25519 key (x-ghl-signature is Ed25519)")
    return key


def load_rsa_public_key(text: str) -> RSAPublicKey:
    key = load_public_key(text)
    if not isinstance(key, RSAPublicKey):
        raise PublicKeyError("is not an RSA key (x-wh-signature is RSA)")
    return key


def raw_ed25519(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
