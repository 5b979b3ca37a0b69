import base64
import hashlib
import struct
import unicodedata
from uuid import UUID, uuid4

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from moltnet.crypto import (
    InvalidNonce,
    InvalidSignatureEncoding,
    KeyPair,
    build_signing_input,
    decode_signature,
    encode_signature,
    generate_key_pair,
    parse_public_key,
    sign,
    signing_input_base64,
    verify_signature,
    verify_signing_input,
)
from tests.unit.crypto import vectors


def _independent_signing_input(message: str, nonce: str) -> bytes:
    digest = hashlib.sha256(message.encode("utf-8")).digest()
    nonce_bytes = nonce.encode("ascii")
    return struct.pack(
        f">10sI32sI{len(nonce_bytes)}s", b"moltnet:v1", 32, digest, len(nonce_bytes), nonce_bytes
    )


def test_vector_signing_input_matches_struct_pack_layout() -> None:
    data = _independent_signing_input(vectors.FIRST_CID, vectors.NONCE)
    assert len(data) == 86
    assert base64.b64encode(data).decode() == vectors.SIGNING_INPUT
    assert data[:10] == b"moltnet:v1"
    assert data[10:14] == b"\x00\x00\x00\x20"
    assert data[46:50] == b"\x00\x00\x00\x24"


@given(st.text(), st.uuids())
def test_signing_input_matches_an_independent_layout(message: str, nonce: UUID) -> None:
    expected = _independent_signing_input(message, str(nonce))
    assert build_signing_input(message, nonce) == expected
    assert build_signing_input(message, str(nonce).upper()) == expected  # text nonce: lowercased
    encoded = signing_input_base64(message, nonce)
    assert len(encoded) == 116
    assert base64.b64decode(encoded) == expected


def test_signing_input_hashes_the_message_verbatim() -> None:
    nonce = uuid4()
    composed = unicodedata.normalize("NFC", "Zürich")
    decomposed = unicodedata.normalize("NFD", "Zürich")
    inputs = {
        build_signing_input(message, nonce)
        for message in (composed, decomposed, composed + " ", composed + "\n", " " + composed)
    }
    assert len(inputs) == 5


@pytest.mark.parametrize("nonce", ["", "not-a-uuid", "00000000-0000-4000-8000-00000000000g"])
def test_signing_input_refuses_a_nonce_that_is_not_a_uuid(nonce: str) -> None:
    with pytest.raises(InvalidNonce, match="UUID"):
        build_signing_input("message", nonce)


@given(st.binary(min_size=32, max_size=32), st.text())
def test_sign_then_verify_round_trips(seed: bytes, message: str) -> None:
    key_pair = KeyPair.from_seed(seed)
    nonce = uuid4()
    signature = sign(seed, build_signing_input(message, nonce))
    assert decode_signature(encode_signature(signature)) == signature
    assert verify_signing_input(key_pair.public_key, message, nonce, signature)
    assert verify_signing_input(key_pair.public_key.raw, message, str(nonce), signature)
    assert not verify_signing_input(key_pair.public_key, message + "x", nonce, signature)


@given(st.binary(min_size=32, max_size=32), st.binary(max_size=256))
def test_signatures_agree_with_the_cryptography_package(seed: bytes, data: bytes) -> None:
    public_key = KeyPair.from_seed(seed).public_key
    ours = sign(seed, data)
    Ed25519PublicKey.from_public_bytes(public_key.raw).verify(ours, data)  # raises if invalid
    theirs = Ed25519PrivateKey.from_private_bytes(seed).sign(data)
    assert theirs == ours  # Ed25519 is deterministic
    assert verify_signature(public_key, data, theirs)


def test_cryptography_package_rejects_the_vector_signature_for_another_nonce() -> None:
    public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(vectors.PUBLIC_KEY_HEX))
    signature = decode_signature(vectors.SIGNATURE)
    public_key.verify(signature, base64.b64decode(vectors.SIGNING_INPUT))
    other = _independent_signing_input(vectors.FIRST_CID, str(uuid4()))
    with pytest.raises(InvalidSignature):
        public_key.verify(signature, other)


def test_vector_signature_fails_for_another_message_nonce_or_key() -> None:
    public_key = parse_public_key(vectors.PUBLIC_KEY)
    signature = decode_signature(vectors.SIGNATURE)
    assert verify_signing_input(public_key, vectors.FIRST_CID, vectors.NONCE, signature)
    assert not verify_signing_input(public_key, vectors.SECOND_CID, vectors.NONCE, signature)
    assert not verify_signing_input(public_key, vectors.FIRST_CID, str(uuid4()), signature)
    assert not verify_signing_input(
        generate_key_pair().public_key, vectors.FIRST_CID, vectors.NONCE, signature
    )
    # Signing the bare message instead of the signing input is not accepted either.
    bare = sign(vectors.SEED, vectors.FIRST_CID.encode())
    assert not verify_signing_input(public_key, vectors.FIRST_CID, vectors.NONCE, bare)


def test_verify_returns_false_for_flipped_bits() -> None:
    public_key = parse_public_key(vectors.PUBLIC_KEY)
    data = base64.b64decode(vectors.SIGNING_INPUT)
    signature = decode_signature(vectors.SIGNATURE)
    for index in (0, 31, 32, 63):
        tampered = bytearray(signature)
        tampered[index] ^= 0x01
        assert not verify_signature(public_key, data, bytes(tampered))
    tampered_data = bytearray(data)
    tampered_data[-1] ^= 0x01
    assert not verify_signature(public_key, bytes(tampered_data), signature)


@pytest.mark.parametrize(
    ("key", "signature"),
    [
        (bytes(32), bytes(64)),  # small-order key, all-zero signature
        (bytes.fromhex(vectors.PUBLIC_KEY_HEX), bytes(63)),
        (bytes.fromhex(vectors.PUBLIC_KEY_HEX), bytes(65)),
        (bytes(31), bytes(64)),
        (b"\xff" * 32, b"\xff" * 64),  # not a point, S out of range
    ],
)
def test_verify_returns_false_for_malformed_input_without_raising(
    key: bytes, signature: bytes
) -> None:
    assert verify_signature(key, b"data", signature) is False


def test_encode_signature_is_88_chars_of_padded_base64() -> None:
    signature = sign(vectors.SEED, b"data")
    encoded = encode_signature(signature)
    assert len(encoded) == 88
    assert encoded == base64.standard_b64encode(signature).decode()


@pytest.mark.parametrize("length", [63, 65])
def test_encode_refuses_signatures_of_the_wrong_length(length: int) -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        encode_signature(bytes(length))


@pytest.mark.parametrize("length", [0, 32, 63, 65, 128])
def test_decode_refuses_signatures_of_the_wrong_length(length: int) -> None:
    with pytest.raises(InvalidSignatureEncoding, match=f"64 bytes, got {length}"):
        decode_signature(base64.b64encode(bytes(length)).decode())


@pytest.mark.parametrize(
    "text",
    [
        vectors.SIGNATURE.rstrip("="),
        vectors.SIGNATURE + "=",
        vectors.SIGNATURE.replace("+", "-").replace("/", "_"),
        vectors.SIGNATURE[:40] + "\n" + vectors.SIGNATURE[40:],
        "é" + vectors.SIGNATURE[1:],
        "*" * 88,
    ],
)
def test_decode_refuses_text_that_is_not_padded_standard_base64(text: str) -> None:
    with pytest.raises(InvalidSignatureEncoding, match="standard base64"):
        decode_signature(text)


def test_decode_refuses_non_canonical_padding_bits() -> None:
    # "BA==": the final 'A' carries four unused bits; 'B' sets one and decodes to the same bytes.
    assert vectors.SIGNATURE.endswith("BA==")
    tampered = vectors.SIGNATURE[:-3] + "B=="
    assert base64.b64decode(tampered) == base64.b64decode(vectors.SIGNATURE)
    with pytest.raises(InvalidSignatureEncoding, match="canonically encoded"):
        decode_signature(tampered)


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_sign_refuses_a_seed_of_the_wrong_length(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        sign(bytes(length), b"data")
