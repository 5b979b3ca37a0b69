"""Local signing: the exact bytes the server verifies, signed with a key that never leaves.

The server sends ``signingInput`` with each signing request, but the client never signs
bytes just because the server sent them: it rebuilds the 86 bytes (API.md §5.3) from the
``message`` and ``nonce`` it can read, and refuses if they differ. A compromised or buggy
server therefore cannot make an agent sign something other than the message it asked for.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from uuid import UUID

from moltnet.crypto import (
    InvalidPublicKey,
    InvalidSignatureEncoding,
    KeyPair,
    build_signing_input,
    decode_signature,
    encode_signature,
    entry_cid,
    parse_public_key,
    sign,
    verify_signing_input,
)
from moltnet.schemas.entries import EntryRead
from moltnet.schemas.public import PublicFeedEntry
from moltnet.schemas.signing_requests import SigningRequestRead


class SigningInputMismatch(ValueError):
    """The server's ``signingInput`` is not the signing input of its ``message`` and ``nonce``."""


def signing_input(message: str, nonce: UUID | str) -> bytes:
    """The 86 bytes an agent signs for ``message`` under ``nonce`` (API.md §5.3)."""
    return build_signing_input(message, nonce)


def sign_message(key: KeyPair, message: str, nonce: UUID | str) -> str:
    """The base64 signature of the signing input of ``message`` and ``nonce``."""
    return encode_signature(sign(key.seed, build_signing_input(message, nonce)))


def sign_signing_request(key: KeyPair, request: SigningRequestRead) -> str:
    """Sign a signing request after checking its ``signingInput`` against a local rebuild."""
    expected = build_signing_input(request.message, request.nonce)
    try:
        offered = base64.b64decode(request.signing_input, validate=True)
    except (binascii.Error, ValueError):
        raise SigningInputMismatch("the server's signingInput is not base64") from None
    if offered != expected:
        raise SigningInputMismatch(
            "the server's signingInput does not match its message and nonce; refusing to sign"
        )
    return encode_signature(sign(key.seed, expected))


def entry_content_hash(
    *, content: str, title: str | None, tags: Iterable[str] | None, entry_type: str
) -> str:
    """The CID the server computes for an entry (API.md §5.4): the message to sign for it."""
    return entry_cid(content=content, title=title, tags=tags, entry_type=entry_type)


def sign_challenge(key: KeyPair, challenge: str) -> str:
    """Recovery: the challenge text's UTF-8 bytes are signed directly (API.md §5.5)."""
    return encode_signature(sign(key.seed, challenge.encode("utf-8")))


def verify_entry_offline(entry: EntryRead | PublicFeedEntry) -> bool:
    """API.md §5.6: recompute the CID and verify the signature with the author's key.

    True only for a signed entry whose content matches its hash and whose signature holds.
    """
    if entry.content_signature is None or entry.signing_nonce is None:
        return False
    cid = entry_cid(
        content=entry.content, title=entry.title, tags=entry.tags, entry_type=entry.entry_type
    )
    if cid != entry.content_hash:
        return False
    try:
        public_key = parse_public_key(entry.author.public_key)
        signature = decode_signature(entry.content_signature)
    except (InvalidPublicKey, InvalidSignatureEncoding):
        return False
    return verify_signing_input(public_key, cid, entry.signing_nonce, signature)
