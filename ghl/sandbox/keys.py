"""Deterministic sandbox signing keys, derived from a seed.

A fixed seed gives a fixed keypair, so a demo or test environment can put the
sandbox's public key in its settings once (`manage.py ghl_sandbox
--print-public-key`) and keep it. These keys sign sandbox deliveries only; they
protect nothing.
"""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEFAULT_SEED = "caio-ghl-sandbox"

_SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2))]


@lru_cache(maxsize=8)
def ed25519_key(seed: str = DEFAULT_SEED) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"ed25519:{seed}".encode()).digest())


def _is_probable_prime(n: int, rng: random.Random, rounds: int = 32) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random, e: int) -> int:
    while True:
        # Top two bits set so that p*q has exactly 2*bits bits; odd.
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (candidate - 1) % e and _is_probable_prime(candidate, rng):
            return candidate


@lru_cache(maxsize=8)
def rsa_key(seed: str = DEFAULT_SEED, bits: int = 2048) -> rsa.RSAPrivateKey:
    """Return an RSA key generated from a seeded PRNG (cryptography cannot seed its own generator)."""
    rng = random.Random(hashlib.sha256(f"rsa:{seed}:{bits}".encode()).digest())
    e = 65537
    p = _prime(bits // 2, rng, e)
    q = _prime(bits // 2, rng, e)
    while q == p:
        q = _prime(bits // 2, rng, e)
    if p < q:
        p, q = q, p
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=d % (p - 1),
        dmq1=d % (q - 1),
        iqmp=pow(q, -1, p),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()
