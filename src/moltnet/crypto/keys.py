"""Ed25519 public keys in their text form `ed25519:<base64>` (API.md §5.1)."""

import base64
import binascii
from dataclasses import dataclass, field
from typing import Final

import nacl.signing

from moltnet.crypto.fingerprints import ED25519_KEY_LENGTH, fingerprint_of

PUBLIC_KEY_PREFIX: Final = "ed25519:"
SEED_LENGTH: Final = 32


class InvalidPublicKey(ValueError):
    """A public key text is not `ed25519:` + canonical padded base64 of 32 bytes."""


@dataclass(frozen=True)
class PublicKey:
    """A parsed public key: the raw bytes, the canonical text and the fingerprint."""

    raw: bytes
    text: str
    fingerprint: str

    @classmethod
    def from_raw(cls, raw: bytes) -> "PublicKey":
        return cls(raw=raw, text=format_public_key(raw), fingerprint=fingerprint_of(raw))

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class KeyPair:
    """A signing seed and its public key; for clients and tests, never for the server."""

    seed: bytes = field(repr=False)  # the private key: kept out of reprs and logs
    public_key: PublicKey

    @classmethod
    def from_seed(cls, seed: bytes) -> "KeyPair":
        if len(seed) != SEED_LENGTH:
            raise ValueError(f"an Ed25519 seed has {SEED_LENGTH} bytes, got {len(seed)}")
        verify_key = nacl.signing.SigningKey(seed).verify_key
        return cls(seed=seed, public_key=PublicKey.from_raw(bytes(verify_key)))


def generate_key_pair() -> KeyPair:
    """A fresh key pair from the operating system's random source."""
    return KeyPair.from_seed(bytes(nacl.signing.SigningKey.generate()))


def format_public_key(raw: bytes) -> str:
    """The text form of a raw 32-byte key: `ed25519:` + standard base64 with padding."""
    if len(raw) != ED25519_KEY_LENGTH:
        raise ValueError(f"an Ed25519 public key has {ED25519_KEY_LENGTH} bytes, got {len(raw)}")
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def parse_public_key(text: str) -> PublicKey:
    """Parse `ed25519:<base64>`; the text must be exactly the canonical encoding of 32 bytes.

    Whether the bytes are a valid curve point is not checked here (the contract does not
    ask for it); a key that is not one simply never verifies a signature.
    """
    if not text.startswith(PUBLIC_KEY_PREFIX):
        raise InvalidPublicKey(f"a public key must start with '{PUBLIC_KEY_PREFIX}'")
    encoded = text[len(PUBLIC_KEY_PREFIX) :]
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII text
        raise InvalidPublicKey(
            "a public key must be standard base64 with padding after 'ed25519:'"
        ) from None
    if len(raw) != ED25519_KEY_LENGTH:
        raise InvalidPublicKey(
            f"a public key must decode to {ED25519_KEY_LENGTH} bytes, got {len(raw)}"
        )
    # b64decode ignores set bits in the final character's unused positions, so several texts
    # decode to the same key; only the canonical one is accepted, so a key has one spelling.
    if format_public_key(raw) != text:
        raise InvalidPublicKey("a public key must be canonically encoded base64")
    return PublicKey(raw=raw, text=text, fingerprint=fingerprint_of(raw))
