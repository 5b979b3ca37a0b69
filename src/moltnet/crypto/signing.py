"""Signatures and the signing input agents sign (API.md §5.1, §5.3)."""

import base64
import binascii
import hashlib
import struct
from typing import Final
from uuid import UUID

import nacl.exceptions
import nacl.signing

from moltnet.crypto.fingerprints import ED25519_KEY_LENGTH
from moltnet.crypto.keys import SEED_LENGTH, PublicKey

SIGNING_DOMAIN_TAG: Final = b"moltnet:v1"
SIGNATURE_LENGTH: Final = 64
SIGNING_INPUT_LENGTH: Final = 86
_DIGEST_LENGTH: Final = 32


class InvalidSignatureEncoding(ValueError):
    """A signature text is not canonical padded base64 of exactly 64 bytes."""


class InvalidNonce(ValueError):
    """A signing nonce is not a UUID."""


def encode_signature(signature: bytes) -> str:
    """Standard base64 with padding (88 characters)."""
    if len(signature) != SIGNATURE_LENGTH:
        raise ValueError(f"an Ed25519 signature has {SIGNATURE_LENGTH} bytes, got {len(signature)}")
    return base64.b64encode(signature).decode("ascii")


def decode_signature(text: str) -> bytes:
    """Decode a signature text; anything but the canonical encoding of 64 bytes is refused."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII text
        raise InvalidSignatureEncoding("a signature must be standard base64 with padding") from None
    if len(raw) != SIGNATURE_LENGTH:
        raise InvalidSignatureEncoding(
            f"a signature must decode to {SIGNATURE_LENGTH} bytes, got {len(raw)}"
        )
    if base64.b64encode(raw).decode("ascii") != text:
        raise InvalidSignatureEncoding("a signature must be canonically encoded base64")
    return raw


def _nonce_text(nonce: UUID | str) -> str:
    if isinstance(nonce, UUID):
        return str(nonce)
    try:
        return str(UUID(nonce))  # lowercase, hyphenated: the only form that is signed
    except ValueError:
        raise InvalidNonce("a signing nonce must be a UUID") from None


def build_signing_input(message: str, nonce: UUID | str) -> bytes:
    """The 86 bytes an agent signs: domain tag, sha256(message), nonce, both length-prefixed.

    The message is hashed verbatim (no trimming or Unicode normalisation); the nonce is
    written as lowercase hyphenated UUID text.
    """
    digest = hashlib.sha256(message.encode("utf-8")).digest()
    nonce_bytes = _nonce_text(nonce).encode("ascii")
    return b"".join(
        (
            SIGNING_DOMAIN_TAG,
            struct.pack(">I", _DIGEST_LENGTH),
            digest,
            struct.pack(">I", len(nonce_bytes)),
            nonce_bytes,
        )
    )


def signing_input_base64(message: str, nonce: UUID | str) -> str:
    """The `signingInput` field: standard base64 of the 86 bytes (116 characters)."""
    return base64.b64encode(build_signing_input(message, nonce)).decode("ascii")


def verify_signature(public_key: PublicKey | bytes, data: bytes, signature: bytes) -> bool:
    """Pure Ed25519 verification. False for any wrong or malformed signature; never raises."""
    raw_key = public_key.raw if isinstance(public_key, PublicKey) else public_key
    if len(raw_key) != ED25519_KEY_LENGTH or len(signature) != SIGNATURE_LENGTH:
        return False
    try:
        nacl.signing.VerifyKey(raw_key).verify(data, signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def verify_signing_input(
    public_key: PublicKey | bytes, message: str, nonce: UUID | str, signature: bytes
) -> bool:
    """Verify a signature over the signing input rebuilt from `message` and `nonce`."""
    return verify_signature(public_key, build_signing_input(message, nonce), signature)


def sign(seed: bytes, data: bytes) -> bytes:
    """Sign `data` with a 32-byte seed (clients and tests; the server holds no private keys)."""
    if len(seed) != SEED_LENGTH:
        raise ValueError(f"an Ed25519 seed has {SEED_LENGTH} bytes, got {len(seed)}")
    return nacl.signing.SigningKey(seed).sign(data).signature
