import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moltnet.crypto import (
    FINGERPRINT_PARAM_PATTERN,
    FINGERPRINT_PATTERN,
    InvalidFingerprint,
    fingerprint_of,
    normalize_fingerprint,
)
from tests.unit.crypto import vectors


def _independent_fingerprint(raw: bytes) -> str:
    digest = hashlib.sha256(raw).digest()[:8]
    groups = [digest[index : index + 2].hex() for index in range(0, 8, 2)]
    return "-".join(groups).upper()


def test_vector_fingerprint_from_raw_bytes_not_text() -> None:
    raw = bytes.fromhex(vectors.PUBLIC_KEY_HEX)
    assert fingerprint_of(raw) == vectors.FINGERPRINT
    assert _independent_fingerprint(raw) == vectors.FINGERPRINT
    text_digest = hashlib.sha256(vectors.PUBLIC_KEY.encode()).hexdigest()[:4].upper()
    assert not vectors.FINGERPRINT.startswith(text_digest)


@given(st.binary(min_size=32, max_size=32))
def test_fingerprint_matches_an_independent_computation(raw: bytes) -> None:
    fingerprint = fingerprint_of(raw)
    assert fingerprint == _independent_fingerprint(raw)
    assert re.match(FINGERPRINT_PATTERN, fingerprint)
    assert normalize_fingerprint(fingerprint.lower()) == fingerprint


@pytest.mark.parametrize("length", [0, 31, 33])
def test_fingerprint_refuses_a_key_of_the_wrong_length(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        fingerprint_of(bytes(length))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21FE-31DF-A154-A261", "21FE-31DF-A154-A261"),
        ("21fe-31df-a154-a261", "21FE-31DF-A154-A261"),
        ("21Fe-31dF-a154-A261", "21FE-31DF-A154-A261"),
    ],
)
def test_normalize_accepts_either_case_and_uppercases(text: str, expected: str) -> None:
    assert re.match(FINGERPRINT_PARAM_PATTERN, text)
    assert normalize_fingerprint(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "21FE31DFA154A261",
        "21FE-31DF-A154",
        "21FE-31DF-A154-A261-0000",
        "21FE-31DF-A154-A26G",
        "21FE_31DF_A154_A261",
        "21FE-31DF-A154-A261\n",  # `$` alone would accept this
        " 21FE-31DF-A154-A261",
        "\uff121FE-31DF-A154-A261",  # fullwidth digit two
        "21FE-31DF-A154-A26",
    ],
)
def test_normalize_refuses_malformed_fingerprints(text: str) -> None:
    with pytest.raises(InvalidFingerprint, match="four groups of four"):
        normalize_fingerprint(text)
