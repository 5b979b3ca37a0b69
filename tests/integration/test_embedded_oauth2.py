"""The embedded OAuth2 backend on real Postgres: client registry, tokens, introspection,
signing-key rotation with overlap, and authentication of tokens without identity claims."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from joserfc import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from moltnet.backends.embedded.oauth2 import EmbeddedOAuth2Backend
from moltnet.backends.embedded.tokens import JwtVerifier, SigningKeySet
from moltnet.cli import app as cli
from moltnet.config import get_settings
from moltnet.crypto import KeyPair, generate_key_pair
from moltnet.db.models import AgentKey, OAuth2Client
from moltnet.errors import NotFound, Unauthorized
from moltnet.schemas.enums import ALL_SCOPES
from moltnet.server_secrets import SIGNING_KEYS_FILE
from moltnet.services.authentication import JwtAuthenticator

# The hand-made Hydra-style tokens below are encoded with joserfc's default registry.
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

ISSUER = "http://issuer.test"
AUDIENCE = "moltnet-test"


def make_backend(
    sessionmaker: async_sessionmaker[AsyncSession], keys: SigningKeySet
) -> EmbeddedOAuth2Backend:
    return EmbeddedOAuth2Backend(
        sessionmaker, signing_keys=keys, issuer=ISSUER, audience=AUDIENCE, verify_audience=AUDIENCE
    )


@pytest.fixture(scope="module")
def keys() -> SigningKeySet:
    return SigningKeySet.generate()


@pytest.fixture
def backend(
    session_factory: async_sessionmaker[AsyncSession], keys: SigningKeySet
) -> EmbeddedOAuth2Backend:
    return make_backend(session_factory, keys)


async def add_agent(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[UUID, KeyPair]:
    key_pair = generate_key_pair()
    identity_id = uuid4()
    async with sessionmaker.begin() as session:
        session.add(
            AgentKey(
                identity_id=identity_id,
                public_key=key_pair.public_key.text,
                fingerprint=key_pair.public_key.fingerprint,
            )
        )
    return identity_id, key_pair


async def new_client(
    backend: EmbeddedOAuth2Backend,
    sessionmaker: async_sessionmaker[AsyncSession],
    scopes: list[str] | None = None,
) -> tuple[UUID, KeyPair, str, str]:
    identity_id, key_pair = await add_agent(sessionmaker)
    credentials = await backend.create_client(
        identity_id=identity_id,
        public_key=key_pair.public_key.text,
        fingerprint=key_pair.public_key.fingerprint,
        scopes=scopes if scopes is not None else list(ALL_SCOPES),
    )
    return identity_id, key_pair, credentials.client_id, credentials.client_secret


async def issue(backend: EmbeddedOAuth2Backend, client_id: str, secret: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    response = await backend.token(form, None)
    assert response.status == 200, response.body
    token = response.body["access_token"]
    assert isinstance(token, str)
    return token


# --- client registry ----------------------------------------------------------------------


async def test_client_lifecycle(
    backend: EmbeddedOAuth2Backend, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    identity_id, key_pair, client_id, secret = await new_client(backend, session_factory)
    info = await backend.get_client(client_id)
    assert info is not None
    assert info.identity_id == identity_id
    assert info.scopes == frozenset(ALL_SCOPES)
    assert info.metadata == {
        "identity_id": str(identity_id),
        "public_key": key_pair.public_key.text,
        "fingerprint": key_pair.public_key.fingerprint,
    }
    found = await backend.find_client_for_identity(identity_id)
    assert found is not None
    assert found.client_id == client_id

    await backend.delete_client(client_id)
    await backend.delete_client(client_id)  # idempotent
    assert await backend.get_client(client_id) is None
    assert await backend.find_client_for_identity(identity_id) is None
    refused = await backend.token(
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        None,
    )
    assert refused.status == 401


async def test_secret_is_stored_hashed(
    backend: EmbeddedOAuth2Backend, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, _, client_id, secret = await new_client(backend, session_factory)
    async with session_factory() as session:
        row = (
            await session.scalars(select(OAuth2Client).where(OAuth2Client.client_id == client_id))
        ).one()
    assert row.secret_hash.startswith("hmac-sha256$")
    assert secret not in row.secret_hash
    assert row.grant_types == ["client_credentials"]


async def test_rotation_retires_the_old_secret_at_once(
    backend: EmbeddedOAuth2Backend, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, _, client_id, old_secret = await new_client(backend, session_factory)
    rotated = await backend.rotate_secret(client_id)
    assert rotated.client_id == client_id
    assert rotated.client_secret != old_secret
    form = {"grant_type": "client_credentials", "client_id": client_id}
    assert (await backend.token({**form, "client_secret": old_secret}, None)).status == 401
    assert (
        await backend.token({**form, "client_secret": rotated.client_secret}, None)
    ).status == 200


async def test_rotating_an_unknown_client_is_not_found(backend: EmbeddedOAuth2Backend) -> None:
    with pytest.raises(NotFound):
        await backend.rotate_secret("no-such-client")


async def test_unknown_client_lookups_are_none(backend: EmbeddedOAuth2Backend) -> None:
    assert await backend.get_client("no-such-client") is None
    assert await backend.get_client("\x00") is None
    assert await backend.get_client("x" * 10_000) is None
    assert await backend.find_client_for_identity(uuid4()) is None


async def test_ping_answers(backend: EmbeddedOAuth2Backend) -> None:
    await backend.ping()


# --- tokens and introspection ---------------------------------------------------------------


async def test_issued_token_introspects_as_active(
    backend: EmbeddedOAuth2Backend, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    identity_id, key_pair, client_id, secret = await new_client(
        backend, session_factory, scopes=["diary:read", "crypto:sign"]
    )
    token = await issue(backend, client_id, secret)
    result = await backend.introspect(token)
    assert result is not None
    assert result["active"] is True
    assert result["client_id"] == client_id
    assert result["scope"] == "crypto:sign diary:read"
    assert result["moltnet:identity_id"] == str(identity_id)
    assert result["moltnet:fingerprint"] == key_pair.public_key.fingerprint


@pytest.mark.parametrize("token", ["", "opaque-token", "a.b.c", "x" * 9000])
async def test_foreign_tokens_introspect_as_inactive(
    backend: EmbeddedOAuth2Backend, token: str
) -> None:
    assert await backend.introspect(token) is None


async def test_token_of_another_issuer_key_is_inactive(
    backend: EmbeddedOAuth2Backend, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, _, client_id, secret = await new_client(backend, session_factory)
    stranger = make_backend(session_factory, SigningKeySet.generate())
    token = await issue(stranger, client_id, secret)
    assert await backend.introspect(token) is None


# --- signing-key rotation with overlap ---------------------------------------------------------


async def test_token_minted_before_key_rotation_still_verifies(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    before = SigningKeySet.generate()
    old_issuer = make_backend(session_factory, before)
    _, _, client_id, secret = await new_client(old_issuer, session_factory)
    old_token = await issue(old_issuer, client_id, secret)

    after = before.rotate()
    new_issuer = make_backend(session_factory, after)
    assert await new_issuer.introspect(old_token) is not None  # the overlap
    new_token = await issue(new_issuer, client_id, secret)
    assert await new_issuer.introspect(new_token) is not None
    assert await old_issuer.introspect(new_token) is None  # the old set never saw the new key

    # A verifier that caches the JWKS picks up the rotated set through the unknown kid.
    documents = [before.public_jwks()]

    async def jwks() -> dict[str, object]:
        return dict(documents[-1])

    verifier = JwtVerifier(jwks, issuer=ISSUER, audience=AUDIENCE)
    await verifier.verify(old_token)
    documents.append(after.public_jwks())
    assert (await verifier.verify(new_token)).client_id == client_id
    assert (await verifier.verify(old_token)).client_id == client_id

    # Once the old key leaves the set (two more rotations), its tokens stop verifying.
    dropped = make_backend(session_factory, after.rotate().rotate())
    assert await dropped.introspect(old_token) is None


def test_cli_rotates_the_signing_keys_under_moltnet_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOLTNET_HOME", str(tmp_path))
    monkeypatch.delenv("OAUTH2_SIGNING_KEYS", raising=False)
    monkeypatch.setenv("ENVIRONMENT", "development")
    original = SigningKeySet.generate()
    (tmp_path / SIGNING_KEYS_FILE).write_text(original.to_json(), encoding="utf-8")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["rotate-signing-keys"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    rotated = SigningKeySet.from_json((tmp_path / SIGNING_KEYS_FILE).read_text(encoding="utf-8"))
    assert rotated.current.kid != original.current.kid
    assert [key.kid for key in rotated.previous] == [original.current.kid]
    assert str(original.current.kid) in result.output
    assert all("d" not in key for key in rotated.public_jwks()["keys"])


def test_cli_refuses_to_rotate_configured_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOLTNET_HOME", str(tmp_path))
    monkeypatch.setenv("OAUTH2_SIGNING_KEYS", SigningKeySet.generate().to_json())
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["rotate-signing-keys"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert not (tmp_path / SIGNING_KEYS_FILE).exists()


# --- authentication of tokens without identity claims ----------------------------------------


def token_without_identity(keys: SigningKeySet, client_id: str, scope: str) -> str:
    """A JWT as Hydra issues it without the token hook: no ``moltnet:*`` claims."""
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": ISSUER,
        "aud": [AUDIENCE],
        "sub": client_id,
        "client_id": client_id,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": str(uuid4()),
        "scp": scope.split(),
    }
    header = {"alg": "EdDSA", "kid": keys.current.kid, "typ": "JWT"}
    return jwt.encode(header, claims, keys.current, algorithms=["EdDSA"])


def authenticator(
    keys: SigningKeySet,
    backend: EmbeddedOAuth2Backend,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> JwtAuthenticator:
    async def jwks() -> dict[str, object]:
        return dict(keys.public_jwks())

    verifier = JwtVerifier(jwks, issuer=ISSUER, audience=AUDIENCE)
    return JwtAuthenticator(verifier, oauth2=backend, sessionmaker=sessionmaker)


async def test_identity_is_looked_up_through_the_client_metadata(
    backend: EmbeddedOAuth2Backend,
    session_factory: async_sessionmaker[AsyncSession],
    keys: SigningKeySet,
) -> None:
    identity_id, key_pair, client_id, _ = await new_client(backend, session_factory)
    token = token_without_identity(keys, client_id, "diary:read agent:profile")
    subject = await authenticator(keys, backend, session_factory).authenticate(token)
    assert subject.identity_id == identity_id
    assert subject.public_key == key_pair.public_key.text
    assert subject.fingerprint == key_pair.public_key.fingerprint
    assert subject.client_id == client_id
    assert subject.scopes == frozenset({"diary:read", "agent:profile"})


async def test_token_of_an_unknown_client_without_identity_is_401(
    backend: EmbeddedOAuth2Backend,
    session_factory: async_sessionmaker[AsyncSession],
    keys: SigningKeySet,
) -> None:
    token = token_without_identity(keys, "no-such-client", "diary:read")
    with pytest.raises(Unauthorized):
        await authenticator(keys, backend, session_factory).authenticate(token)


async def test_client_without_agent_row_is_401(
    backend: EmbeddedOAuth2Backend,
    session_factory: async_sessionmaker[AsyncSession],
    keys: SigningKeySet,
) -> None:
    key_pair = generate_key_pair()
    credentials = await backend.create_client(
        identity_id=uuid4(),
        public_key=key_pair.public_key.text,
        fingerprint=key_pair.public_key.fingerprint,
        scopes=["diary:read"],
    )
    token = token_without_identity(keys, credentials.client_id, "diary:read")
    with pytest.raises(Unauthorized):
        await authenticator(keys, backend, session_factory).authenticate(token)


async def test_opaque_token_unknown_to_the_embedded_issuer_is_401(
    backend: EmbeddedOAuth2Backend,
    session_factory: async_sessionmaker[AsyncSession],
    keys: SigningKeySet,
) -> None:
    with pytest.raises(Unauthorized):
        await authenticator(keys, backend, session_factory).authenticate("ory_at_abcdef")
