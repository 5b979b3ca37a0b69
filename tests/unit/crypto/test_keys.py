import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from moltnet.crypto import (
    InvalidPublicKey,
    KeyPair,
    PublicKey,
    format_public_key,
    generate_key_pair,
    parse_public_key,
)
from tests.unit.crypto import vectors


@given(st.binary(min_size=32, max_size=32))
def test_parse_inverts_format_for_any_32_bytes(raw: bytes) -> None:
    text = format_public_key(raw)
    assert len(text) == 52
    parsed = parse_public_key(text)
    assert parsed.raw == raw
    assert parsed.text == text
    assert parsed == PublicKey.from_raw(raw)


@given(st.binary(min_size=32, max_size=32))
def test_seed_derives_the_same_public_key_as_the_cryptography_package(seed: bytes) -> None:
    expected = (
        Ed25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    assert KeyPair.from_seed(seed).public_key.raw == expected


def test_public_key_text_is_prefix_plus_standard_base64_with_padding() -> None:
    raw = bytes.fromhex(vectors.PUBLIC_KEY_HEX)
    assert format_public_key(raw) == "ed25519:" + base64.standard_b64encode(raw).decode()


def test_public_key_carries_the_fingerprint_of_its_raw_bytes() -> None:
    public_key = parse_public_key(vectors.PUBLIC_KEY)
    digits = hashlib.sha256(public_key.raw).hexdigest().upper()
    assert public_key.fingerprint == "-".join(
        (digits[0:4], digits[4:8], digits[8:12], digits[12:16])
    )
    assert str(public_key) == vectors.PUBLIC_KEY


def test_generated_key_pairs_are_distinct_and_consistent() -> None:
    first, second = generate_key_pair(), generate_key_pair()
    assert first.seed != second.seed
    assert first.public_key != second.public_key
    assert KeyPair.from_seed(first.seed) == first


def test_key_pair_repr_hides_the_seed() -> None:
    key_pair = KeyPair.from_seed(vectors.SEED)
    assert vectors.SEED.hex() not in repr(key_pair)
    assert repr(vectors.SEED) not in repr(key_pair)


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_key_pair_refuses_a_seed_of_the_wrong_length(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        KeyPair.from_seed(bytes(length))


@pytest.mark.parametrize("length", [31, 33])
def test_format_refuses_raw_keys_of_the_wrong_length(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        format_public_key(bytes(length))


_BASE64 = vectors.PUBLIC_KEY.removeprefix("ed25519:")


@pytest.mark.parametrize(
    "text",
    [
        "",
        _BASE64,  # no prefix at all
        "ED25519:" + _BASE64,
        "ed25519 :" + _BASE64,
        "ed448:" + _BASE64,
        " ed25519:" + _BASE64,
    ],
)
def test_parse_refuses_a_missing_or_wrong_prefix(text: str) -> None:
    with pytest.raises(InvalidPublicKey, match="must start with 'ed25519:'"):
        parse_public_key(text)


@pytest.mark.parametrize(
    "encoded",
    [
        _BASE64.rstrip("="),  # padding dropped
        _BASE64 + "=",  # too much padding
        _BASE64.replace("/", "_"),  # URL-safe alphabet
        _BASE64[:20] + " " + _BASE64[20:],  # whitespace
        _BASE64 + "\n",
        "é" + _BASE64[1:],  # non-ASCII
        "!" * 44,
    ],
)
def test_parse_refuses_text_that_is_not_padded_standard_base64(encoded: str) -> None:
    with pytest.raises(InvalidPublicKey, match="standard base64"):
        parse_public_key("ed25519:" + encoded)


@pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
def test_parse_refuses_keys_that_decode_to_the_wrong_length(length: int) -> None:
    text = "ed25519:" + base64.b64encode(bytes(range(length))).decode()
    with pytest.raises(InvalidPublicKey, match=f"32 bytes, got {length}"):
        parse_public_key(text)


def test_parse_refuses_non_canonical_padding_bits() -> None:
    # The vector ends "URo=": 'o' leaves two unused low bits at zero. 'p' sets one of them;
    # a lenient decoder maps both texts to the same key, which would give it two spellings.
    assert _BASE64.endswith("o=")
    tampered = "ed25519:" + _BASE64[:-2] + "p="
    assert base64.b64decode(tampered.removeprefix("ed25519:")) == bytes.fromhex(
        vectors.PUBLIC_KEY_HEX
    )
    with pytest.raises(InvalidPublicKey, match="canonically encoded"):
        parse_public_key(tampered)


def test_parse_accepts_a_key_that_is_not_a_curve_point() -> None:
    # The contract checks only the encoding; such a key simply never verifies (see signing).
    assert parse_public_key("ed25519:" + base64.b64encode(bytes(32)).decode()).raw == bytes(32)
