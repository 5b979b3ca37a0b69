"""Local signing produces the bytes of API.md §5.3/§5.4 (the §5.7 vectors)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from moltnet.client import (
    SigningInputMismatch,
    entry_content_hash,
    sign_challenge,
    sign_message,
    sign_signing_request,
    signing_input,
    verify_entry_offline,
)
from moltnet.crypto import KeyPair, parse_public_key, verify_signature
from moltnet.schemas.entries import Author
from moltnet.schemas.enums import EntryType
from moltnet.schemas.public import PublicFeedEntry
from moltnet.schemas.signing_requests import SigningRequestRead

SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
KEY = KeyPair.from_seed(SEED)
FIRST_CID = "bafkreif7jqooityvksmsdnor5umime7ke44csoqjmicrs4zskrgcsrderu"
NONCE = "00000000-0000-4000-8000-000000000000"
SIGNING_INPUT = (
    "bW9sdG5ldDp2MQAAACARgWneUE20jmbjlndg5PpSyPHMpea7cdKGSxk9psC3RgAAACQwMDAwMDAwMC0wMDAwLTQwMDAt"
    "ODAwMC0wMDAwMDAwMDAwMDA="
)
SIGNATURE = (
    "ghVEzogMt2l+TXLFvbv9mPzD3Ll/prHrzRhX54VpEqu7OYfi29soudBZ8oMpleVJxN996MffahlMXyZ36eFHBA=="
)


def test_key_vector() -> None:
    assert KEY.public_key.text == "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    assert KEY.public_key.fingerprint == "21FE-31DF-A154-A261"


def test_entry_content_hash_vectors() -> None:
    assert (
        entry_content_hash(
            content="Hello, MoltNet!", title=None, tags=["beta", "alpha"], entry_type="semantic"
        )
        == FIRST_CID
    )
    assert (
        entry_content_hash(
            content='Zürich "quoted"\nline',
            title="Notes",
            tags=["é", "z", "A"],
            entry_type=EntryType.episodic,
        )
        == "bafkreichoxd7s5pzac7vk2pxqqafekttmhic6y4mjmij74vbvjt5p5arwa"
    )


def test_signing_input_and_signature_vectors() -> None:
    assert base64.b64encode(signing_input(FIRST_CID, NONCE)).decode() == SIGNING_INPUT
    assert sign_message(KEY, FIRST_CID, UUID(NONCE)) == SIGNATURE


def request(message: str, nonce: str, offered: str) -> SigningRequestRead:
    now = datetime.now(UTC)
    return SigningRequestRead(
        id=uuid4(),
        agent_id=uuid4(),
        message=message,
        nonce=UUID(nonce),
        signing_input=offered,
        status="pending",
        signature=None,
        valid=None,
        created_at=now,
        expires_at=now,
        completed_at=None,
    )


def test_signing_request_is_signed_after_a_local_rebuild() -> None:
    assert sign_signing_request(KEY, request(FIRST_CID, NONCE, SIGNING_INPUT)) == SIGNATURE


def test_signing_request_with_foreign_signing_input_is_refused() -> None:
    # a server offering other bytes than its message's signing input must not get them signed
    forged = base64.b64encode(signing_input("transfer everything", NONCE)).decode()
    with pytest.raises(SigningInputMismatch):
        sign_signing_request(KEY, request(FIRST_CID, NONCE, forged))
    with pytest.raises(SigningInputMismatch):
        sign_signing_request(KEY, request(FIRST_CID, NONCE, "not base64!"))


def test_challenge_is_signed_as_raw_utf8() -> None:
    challenge = f"moltnet:recovery:{KEY.public_key.text}:{'ab' * 32}:1767225600000"
    signature = base64.b64decode(sign_challenge(KEY, challenge))
    assert verify_signature(parse_public_key(KEY.public_key.text), challenge.encode(), signature)


def feed_entry(**overrides: object) -> PublicFeedEntry:
    fields: dict[str, object] = {
        "id": uuid4(),
        "title": None,
        "content": "Hello, MoltNet!",
        "tags": ["alpha", "beta"],
        "entry_type": "semantic",
        "injection_risk": False,
        "content_hash": FIRST_CID,
        "content_signature": SIGNATURE,
        "signing_nonce": UUID(NONCE),
        "created_at": datetime.now(UTC),
        "author": Author(fingerprint=KEY.public_key.fingerprint, public_key=KEY.public_key.text),
    }
    return PublicFeedEntry.model_validate(fields | overrides)


def test_offline_verification_of_a_signed_entry() -> None:
    assert verify_entry_offline(feed_entry()) is True
    assert verify_entry_offline(feed_entry(content="Hello, MoltNet?")) is False
    assert verify_entry_offline(feed_entry(signing_nonce=uuid4())) is False
    assert verify_entry_offline(feed_entry(content_signature=None)) is False
    other = KeyPair.from_seed(bytes(32))
    author = Author(fingerprint=other.public_key.fingerprint, public_key=other.public_key.text)
    assert verify_entry_offline(feed_entry(author=author)) is False
