"""Every API.md §5.7 vector, through the public API of moltnet.crypto."""

import base64

from moltnet.crypto import (
    KeyPair,
    build_signing_input,
    canonical_entry_json,
    challenge_hmac,
    decode_signature,
    encode_signature,
    entry_cid,
    issue_challenge,
    parse_public_key,
    sign,
    signing_input_base64,
    verify_challenge,
    verify_signing_input,
)
from tests.unit.crypto import vectors


def test_seed_derives_the_vector_public_key_and_fingerprint() -> None:
    key_pair = KeyPair.from_seed(vectors.SEED)
    assert key_pair.public_key.text == vectors.PUBLIC_KEY
    assert key_pair.public_key.raw.hex() == vectors.PUBLIC_KEY_HEX
    assert key_pair.public_key.fingerprint == vectors.FINGERPRINT


def test_vector_public_key_parses_to_its_fingerprint() -> None:
    public_key = parse_public_key(vectors.PUBLIC_KEY)
    assert public_key.raw.hex() == vectors.PUBLIC_KEY_HEX
    assert public_key.fingerprint == vectors.FINGERPRINT


def test_first_entry_canonical_json_and_cid() -> None:
    assert canonical_entry_json(**vectors.FIRST_ENTRY) == vectors.FIRST_JSON
    assert entry_cid(**vectors.FIRST_ENTRY) == vectors.FIRST_CID


def test_second_entry_cid() -> None:
    assert entry_cid(**vectors.SECOND_ENTRY) == vectors.SECOND_CID


def test_signing_input_vector() -> None:
    assert signing_input_base64(vectors.FIRST_CID, vectors.NONCE) == vectors.SIGNING_INPUT
    assert build_signing_input(vectors.FIRST_CID, vectors.NONCE) == base64.b64decode(
        vectors.SIGNING_INPUT
    )


def test_signature_vector_is_produced_and_verifies() -> None:
    # Ed25519 is deterministic, so signing the vector input reproduces the vector signature.
    signature = sign(vectors.SEED, build_signing_input(vectors.FIRST_CID, vectors.NONCE))
    assert encode_signature(signature) == vectors.SIGNATURE
    public_key = parse_public_key(vectors.PUBLIC_KEY)
    assert verify_signing_input(
        public_key, vectors.FIRST_CID, vectors.NONCE, decode_signature(vectors.SIGNATURE)
    )


def test_hmac_vector() -> None:
    assert challenge_hmac(vectors.CHALLENGE, vectors.HMAC_SECRET) == vectors.CHALLENGE_HMAC
    challenge, hmac_hex = issue_challenge(
        vectors.PUBLIC_KEY,
        vectors.HMAC_SECRET,
        vectors.CHALLENGE_ISSUED_AT_MS,
        nonce=vectors.CHALLENGE_NONCE,
    )
    assert (challenge, hmac_hex) == (vectors.CHALLENGE, vectors.CHALLENGE_HMAC)


def test_hmac_vector_verifies_and_parses() -> None:
    parsed = verify_challenge(
        vectors.CHALLENGE,
        vectors.CHALLENGE_HMAC,
        vectors.PUBLIC_KEY,
        vectors.HMAC_SECRET,
        vectors.CHALLENGE_ISSUED_AT_MS + 1_000,
    )
    assert parsed.nonce == vectors.CHALLENGE_NONCE
    assert parsed.issued_at_ms == vectors.CHALLENGE_ISSUED_AT_MS
    assert parsed.public_key == vectors.PUBLIC_KEY
