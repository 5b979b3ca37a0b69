"""Recovery challenges: server-issued, HMAC-authenticated, short-lived (API.md §5.5)."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

from moltnet.crypto.keys import parse_public_key

CHALLENGE_TTL_MS: Final = 300_000  # a challenge is valid for 300 s after it was issued
CHALLENGE_MAX_CLOCK_SKEW_MS: Final = 5_000  # how far in the future issuedAtMs may be
CHALLENGE_PREFIX: Final = "moltnet:recovery:"
NONCE_BYTES: Final = 32

# Six ':'-separated fields: moltnet, recovery, ed25519, base64 key, nonce, issuedAtMs.
# The key's base64 alphabet has no ':', so the split is unambiguous. [0-9] (not \d) keeps
# out non-ASCII digits, and 15 digits are plenty for epoch milliseconds.
_CHALLENGE_REGEX: Final = re.compile(
    r"moltnet:recovery:(?P<public_key>ed25519:[A-Za-z0-9+/=]+):"
    r"(?P<nonce>[0-9a-f]{64}):(?P<issued_at_ms>[0-9]{1,15})"
)
_NONCE_REGEX: Final = re.compile(r"[0-9a-f]{64}")
_HMAC_REGEX: Final = re.compile(r"[0-9a-f]{64}")


class InvalidChallengeError(ValueError):
    """A recovery challenge is malformed, forged, for another key, or outside its lifetime."""


@dataclass(frozen=True)
class ParsedChallenge:
    nonce: str
    issued_at_ms: int
    public_key: str


def challenge_text(public_key: str, nonce: str, issued_at_ms: int) -> str:
    return f"{CHALLENGE_PREFIX}{public_key}:{nonce}:{issued_at_ms}"


def challenge_hmac(challenge: str, secret: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the challenge's UTF-8 bytes."""
    if not secret:
        raise ValueError("the recovery challenge secret must not be empty")
    return hmac.new(secret, challenge.encode("utf-8"), hashlib.sha256).hexdigest()


def issue_challenge(
    public_key_text: str, secret: bytes, now_ms: int, nonce: str | None = None
) -> tuple[str, str]:
    """A fresh challenge for `public_key_text` (canonical text) and its HMAC.

    Raises InvalidPublicKey for a malformed key. `nonce` (64 lowercase hex) is for tests;
    by default 32 random bytes are drawn.
    """
    parse_public_key(public_key_text)
    if nonce is None:
        nonce = secrets.token_hex(NONCE_BYTES)
    elif _NONCE_REGEX.fullmatch(nonce) is None:
        raise ValueError("a challenge nonce is 64 lowercase hex digits")
    if now_ms < 0:
        raise ValueError("now_ms must be a non-negative epoch time in milliseconds")
    challenge = challenge_text(public_key_text, nonce, now_ms)
    return challenge, challenge_hmac(challenge, secret)


def verify_challenge(
    challenge: str, hmac_hex: str, public_key_text: str, secret: bytes, now_ms: int
) -> ParsedChallenge:
    """Check a challenge returned by a client; raise InvalidChallengeError saying why not.

    This does not check the signature over the challenge, nor nonce reuse: those need the
    key's stored state and the used-nonce table.
    """
    match = _CHALLENGE_REGEX.fullmatch(challenge)
    if match is None:
        raise InvalidChallengeError(
            "the challenge must be 'moltnet:recovery:<publicKey>:<64 hex nonce>:<issuedAtMs>'"
        )
    if _HMAC_REGEX.fullmatch(hmac_hex) is None:
        raise InvalidChallengeError("the challenge HMAC must be 64 lowercase hex digits")
    expected = challenge_hmac(challenge, secret)
    if not hmac.compare_digest(expected.encode("ascii"), hmac_hex.encode("ascii")):
        raise InvalidChallengeError("the challenge HMAC does not match: it was not issued here")
    parsed = ParsedChallenge(
        nonce=match["nonce"],
        issued_at_ms=int(match["issued_at_ms"]),
        public_key=match["public_key"],
    )
    if parsed.public_key != public_key_text:
        raise InvalidChallengeError("the challenge was issued for a different public key")
    if parsed.issued_at_ms > now_ms + CHALLENGE_MAX_CLOCK_SKEW_MS:
        raise InvalidChallengeError("the challenge was issued in the future")
    if now_ms - parsed.issued_at_ms > CHALLENGE_TTL_MS:
        raise InvalidChallengeError("the challenge has expired")
    return parsed
