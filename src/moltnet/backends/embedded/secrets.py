"""OAuth2 client credentials of the embedded issuer: generation, storage hash, verification.

Why a fast keyed hash and not bcrypt/argon2: a slow KDF protects *low-entropy*
secrets (human passwords) from offline guessing after a database leak. Our client
secrets are 32 random bytes from ``secrets.token_urlsafe`` (256 bits), so guessing
one from its hash is infeasible however fast the hash is; a slow KDF would only
burn CPU on every token request (and hand an attacker a cheap way to load the
server). HMAC-SHA256 keyed with a server-side pepper additionally makes a leaked
table useless without the pepper. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from uuid import uuid4

HASH_SCHEME = "hmac-sha256"
_SECRET_BYTES = 32


def generate_client_id() -> str:
    """A new OAuth2 client id: a random UUID in its canonical text form."""
    return str(uuid4())


def generate_client_secret() -> str:
    """A new client secret: 256 random bits, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(_SECRET_BYTES)


def hash_client_secret(secret: str, *, pepper: bytes = b"") -> str:
    """The storable form of ``secret``: ``hmac-sha256$<hex digest>``.

    The scheme prefix lets a later release change the hash without guessing
    which rows use which one. An empty pepper is still a sound SHA-256-based
    hash for high-entropy secrets; a configured pepper is better.
    """
    if not secret:
        raise ValueError("a client secret must not be empty")
    return f"{HASH_SCHEME}${_digest(secret, pepper)}"


def verify_client_secret(secret: str, stored_hash: str, *, pepper: bytes = b"") -> bool:
    """Whether ``secret`` matches ``stored_hash``, compared in constant time.

    An empty secret, or a stored value in an unknown scheme, never matches.
    """
    scheme, separator, expected = stored_hash.partition("$")
    if not secret or not separator or scheme != HASH_SCHEME:
        return False
    return hmac.compare_digest(_digest(secret, pepper), expected)


def _digest(secret: str, pepper: bytes) -> str:
    return hmac.new(pepper, secret.encode("utf-8"), hashlib.sha256).hexdigest()
