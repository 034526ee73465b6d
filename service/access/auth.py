"""API keys: only their SHA-256 digests are configured, stored or compared.

``fastscale hash-key`` prints the digest an operator puts in FASTSCALE_API_KEY_HASHES, and the
API's guard hashes the ``X-API-Key`` it receives the same way, here, before comparing digests in
constant time. Plain keys are never stored and never logged.
"""

from __future__ import annotations

import hashlib
import hmac

MIN_KEY_CHARS = 16


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_allowed(key: str, allowed_hashes: list[str]) -> bool:
    """Whether ``key`` hashes to one of ``allowed_hashes``; every digest is compared, in constant time."""
    digest = hash_key(key)
    ok = False
    for allowed in allowed_hashes:
        ok |= hmac.compare_digest(digest, allowed)
    return ok


def digest_allowed(digest: str, allowed_hashes: list[str]) -> bool:
    """Whether the digest of a key is one of ``allowed_hashes``, compared in constant time."""
    ok = False
    for allowed in allowed_hashes:
        ok |= hmac.compare_digest(digest, allowed)
    return ok


def key_identity(key: str) -> str:
    """A short, non-reversible name for a key (rate limiting, logs): a prefix of its digest."""
    return f"key:{hash_key(key)[:16]}"
