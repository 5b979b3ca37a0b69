import hashlib
import hmac

import pytest

from moltnet.crypto import (
    CHALLENGE_MAX_CLOCK_SKEW_MS,
    CHALLENGE_TTL_MS,
    InvalidChallengeError,
    InvalidPublicKey,
    ParsedChallenge,
    generate_key_pair,
    issue_challenge,
    verify_challenge,
)
from tests.unit.crypto import vectors

SECRET = b"a-recovery-secret-of-some-length"
NOW_MS = 1_767_225_600_000
KEY = vectors.PUBLIC_KEY


def _independent_hmac(challenge: str, secret: bytes = SECRET) -> str:
    return hmac.new(secret, challenge.encode(), hashlib.sha256).hexdigest()


def _verify(
    challenge: str, hmac_hex: str, *, key: str = KEY, now_ms: int = NOW_MS
) -> ParsedChallenge:
    return verify_challenge(challenge, hmac_hex, key, SECRET, now_ms)


def test_lifetime_constants_follow_the_contract() -> None:
    assert CHALLENGE_TTL_MS == 300_000
    assert CHALLENGE_MAX_CLOCK_SKEW_MS == 5_000


def test_issued_challenge_has_the_contract_shape_and_hmac() -> None:
    challenge, hmac_hex = issue_challenge(KEY, SECRET, NOW_MS)
    fields = challenge.split(":")
    assert len(fields) == 6
    assert fields[:2] == ["moltnet", "recovery"]
    assert ":".join(fields[2:4]) == KEY
    assert len(fields[4]) == 64
    assert int(fields[4], 16) >= 0
    assert fields[4] == fields[4].lower()
    assert fields[5] == str(NOW_MS)
    assert hmac_hex == _independent_hmac(challenge)


def test_issued_nonces_are_random() -> None:
    nonces = {issue_challenge(KEY, SECRET, NOW_MS)[0].split(":")[4] for _ in range(20)}
    assert len(nonces) == 20


def test_vector_hmac_matches_the_standard_library() -> None:
    assert _independent_hmac(vectors.CHALLENGE, vectors.HMAC_SECRET) == vectors.CHALLENGE_HMAC


def test_issue_refuses_a_malformed_key_or_nonce() -> None:
    with pytest.raises(InvalidPublicKey):
        issue_challenge(KEY.removeprefix("ed25519:"), SECRET, NOW_MS)
    with pytest.raises(ValueError, match="64 lowercase hex"):
        issue_challenge(KEY, SECRET, NOW_MS, nonce="AB" * 32)
    with pytest.raises(ValueError, match="must not be empty"):
        issue_challenge(KEY, b"", NOW_MS)


@pytest.mark.parametrize("age_ms", [0, 1, CHALLENGE_TTL_MS, -CHALLENGE_MAX_CLOCK_SKEW_MS])
def test_valid_within_its_lifetime_and_skew(age_ms: int) -> None:
    challenge, hmac_hex = issue_challenge(KEY, SECRET, NOW_MS, nonce="cd" * 32)
    parsed = _verify(challenge, hmac_hex, now_ms=NOW_MS + age_ms)
    assert parsed == ParsedChallenge(nonce="cd" * 32, issued_at_ms=NOW_MS, public_key=KEY)


def test_expired_after_ttl() -> None:
    challenge, hmac_hex = issue_challenge(KEY, SECRET, NOW_MS)
    with pytest.raises(InvalidChallengeError, match="expired"):
        _verify(challenge, hmac_hex, now_ms=NOW_MS + CHALLENGE_TTL_MS + 1)


def test_replayed_long_after_issue_is_expired() -> None:
    challenge, hmac_hex = issue_challenge(KEY, SECRET, NOW_MS)
    _verify(challenge, hmac_hex)
    with pytest.raises(InvalidChallengeError, match="expired"):
        _verify(challenge, hmac_hex, now_ms=NOW_MS + 86_400_000)


def test_issued_in_the_future_beyond_skew() -> None:
    challenge, hmac_hex = issue_challenge(KEY, SECRET, NOW_MS + CHALLENGE_MAX_CLOCK_SKEW_MS + 1)
    with pytest.raises(InvalidChallengeError, match="future"):
        _verify(challenge, hmac_hex)


def test_key_mismatch_with_the_body_public_key() -> None:
    challenge, hmac_hex = issue_challenge(KEY, SECRET, NOW_MS)
    other = generate_key_pair().public_key.text
    with pytest.raises(InvalidChallengeError, match="different public key"):
        _verify(challenge, hmac_hex, key=other)


def test_hmac_from_another_secret_is_refused() -> None:
    challenge = f"moltnet:recovery:{KEY}:{'ef' * 32}:{NOW_MS}"
    forged = _independent_hmac(challenge, b"an attacker's guess at the secret")
    with pytest.raises(InvalidChallengeError, match="HMAC does not match"):
        _verify(challenge, forged)


def test_tampered_hmac_is_refused() -> None:
    challenge, hmac_hex = issue_challenge(KEY, SECRET, NOW_MS)
    flipped = ("0" if hmac_hex[0] != "0" else "1") + hmac_hex[1:]
    with pytest.raises(InvalidChallengeError, match="HMAC does not match"):
        _verify(challenge, flipped)


@pytest.mark.parametrize(
    "hmac_hex",
    ["", "ab" * 31, "ab" * 33, "AB" * 32, "zz" * 32, "é" * 64, " " + "ab" * 32],
)
def test_malformed_hmac_is_refused(hmac_hex: str) -> None:
    challenge, _ = issue_challenge(KEY, SECRET, NOW_MS)
    with pytest.raises(InvalidChallengeError, match="64 lowercase hex"):
        _verify(challenge, hmac_hex)


def test_tampered_fields_break_the_hmac() -> None:
    # Pushing issuedAtMs forward (to extend the lifetime), swapping the nonce or the key:
    # each is a well-formed challenge the server never issued.
    challenge, hmac_hex = issue_challenge(KEY, SECRET, NOW_MS, nonce="01" * 32)
    other_key = generate_key_pair().public_key.text
    for tampered in (
        challenge.replace(str(NOW_MS), str(NOW_MS + 1)),
        challenge.replace("01" * 32, "02" * 32),
        challenge.replace(KEY, other_key),
    ):
        with pytest.raises(InvalidChallengeError, match="HMAC does not match"):
            _verify(tampered, hmac_hex, key=other_key if other_key in tampered else KEY)


_NONCE = "ab" * 32


@pytest.mark.parametrize(
    "challenge",
    [
        "",
        f"moltnet:recovery:{KEY}:{_NONCE}",  # five fields
        f"moltnet:recovery:{KEY}:{_NONCE}:{NOW_MS}:extra",  # seven fields
        f"moltnet:recover:{KEY}:{_NONCE}:{NOW_MS}",
        f"MOLTNET:recovery:{KEY}:{_NONCE}:{NOW_MS}",
        f"moltnet:recovery:{KEY.removeprefix('ed25519:')}:{_NONCE}:{NOW_MS}",
        f"moltnet:recovery:{KEY}:{_NONCE.upper()}:{NOW_MS}",
        f"moltnet:recovery:{KEY}:{_NONCE[:-2]}:{NOW_MS}",
        f"moltnet:recovery:{KEY}:{_NONCE}:-{NOW_MS}",
        f"moltnet:recovery:{KEY}:{_NONCE}:+{NOW_MS}",
        f"moltnet:recovery:{KEY}:{_NONCE}:{NOW_MS}.0",
        f"moltnet:recovery:{KEY}:{_NONCE}:1_767_225_600_000",
        f"moltnet:recovery:{KEY}:{_NONCE}:١٧٦٧٢٢٥٦٠٠٠٠٠",  # Arabic-Indic digits: int() takes them
        f"moltnet:recovery:{KEY}:{_NONCE}:{NOW_MS}\n",
        f" moltnet:recovery:{KEY}:{_NONCE}:{NOW_MS}",
    ],
)
def test_malformed_challenge_is_refused_even_with_a_valid_hmac(challenge: str) -> None:
    # The HMAC is computed over the malformed text itself, so only the format check can stop it.
    with pytest.raises(InvalidChallengeError, match="must be 'moltnet:recovery:"):
        _verify(challenge, _independent_hmac(challenge))
