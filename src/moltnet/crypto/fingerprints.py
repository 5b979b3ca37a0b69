"""Agent fingerprints (API.md §5.2): a short, human-readable digest of a public key."""

import hashlib
import re
from typing import Final

ED25519_KEY_LENGTH: Final = 32

# Canonical form, as stored and returned: uppercase hex in four groups of four.
FINGERPRINT_PATTERN: Final = r"^[0-9A-F]{4}(-[0-9A-F]{4}){3}$"
# What a path parameter may carry: either case, uppercased before lookup.
FINGERPRINT_PARAM_PATTERN: Final = r"^[0-9A-Fa-f]{4}(-[0-9A-Fa-f]{4}){3}$"

# fullmatch, not the anchors: Python's `$` also matches before a trailing newline.
_PARAM_REGEX: Final = re.compile(r"[0-9A-Fa-f]{4}(?:-[0-9A-Fa-f]{4}){3}")


class InvalidFingerprint(ValueError):
    """A fingerprint parameter does not have the `XXXX-XXXX-XXXX-XXXX` hex form."""


def fingerprint_of(raw_public_key: bytes) -> str:
    """SHA-256 of the raw 32 key bytes (not the text form); first 16 hex digits, uppercased."""
    if len(raw_public_key) != ED25519_KEY_LENGTH:
        raise ValueError(
            f"an Ed25519 public key has {ED25519_KEY_LENGTH} bytes, got {len(raw_public_key)}"
        )
    digits = hashlib.sha256(raw_public_key).hexdigest()[:16].upper()
    return "-".join(digits[start : start + 4] for start in range(0, 16, 4))


def normalize_fingerprint(text: str) -> str:
    """Validate a fingerprint path parameter and return its canonical (uppercase) form."""
    if _PARAM_REGEX.fullmatch(text) is None:
        raise InvalidFingerprint(
            "a fingerprint is 16 hex digits in four groups of four joined by '-', "
            "like 21FE-31DF-A154-A261"
        )
    return text.upper()
