"""Client credentials of the embedded issuer."""

from __future__ import annotations

from uuid import UUID

import pytest

from moltnet.backends.embedded.secrets import (
    generate_client_id,
    generate_client_secret,
    hash_client_secret,
    verify_client_secret,
)

PEPPER = b"server-side pepper for tests"


def test_client_id_is_a_canonical_uuid4() -> None:
    client_id = generate_client_id()

    assert str(UUID(client_id)) == client_id
    assert UUID(client_id).version == 4
    assert generate_client_id() != client_id


def test_client_secret_carries_256_random_bits() -> None:
    secrets = {generate_client_secret() for _ in range(100)}

    assert len(secrets) == 100
    assert {len(secret) for secret in secrets} == {43}


def test_secret_verifies_against_its_hash() -> None:
    secret = generate_client_secret()

    assert verify_client_secret(secret, hash_client_secret(secret, pepper=PEPPER), pepper=PEPPER)


def test_hash_does_not_contain_the_secret() -> None:
    secret = generate_client_secret()

    stored = hash_client_secret(secret, pepper=PEPPER)

    assert secret not in stored
    assert stored.startswith("hmac-sha256$")


def test_wrong_secret_does_not_verify() -> None:
    stored = hash_client_secret(generate_client_secret(), pepper=PEPPER)

    assert not verify_client_secret(generate_client_secret(), stored, pepper=PEPPER)


def test_empty_secret_never_verifies() -> None:
    stored = hash_client_secret(generate_client_secret(), pepper=PEPPER)

    assert not verify_client_secret("", stored, pepper=PEPPER)


def test_empty_secret_cannot_be_hashed() -> None:
    with pytest.raises(ValueError, match="empty"):
        hash_client_secret("", pepper=PEPPER)


def test_secret_does_not_verify_under_another_pepper() -> None:
    secret = generate_client_secret()
    stored = hash_client_secret(secret, pepper=PEPPER)

    assert not verify_client_secret(secret, stored, pepper=b"another pepper")


@pytest.mark.parametrize("stored", ["", "plain-text", "sha1$abcdef", "hmac-sha256"])
def test_stored_value_in_unknown_format_never_verifies(stored: str) -> None:
    assert not verify_client_secret("hmac-sha256", stored, pepper=PEPPER)


def test_same_secret_and_pepper_hash_the_same() -> None:
    secret = generate_client_secret()

    assert hash_client_secret(secret, pepper=PEPPER) == hash_client_secret(secret, pepper=PEPPER)
