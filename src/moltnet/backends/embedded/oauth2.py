"""The embedded OAuth2 issuer (Hydra role): client registry and ``POST /oauth2/token``.

Clients live in ``embedded.oauth2_clients`` with their secret stored hashed
(``backends/embedded/secrets.py``); tokens are JWTs signed with the lifespan's
``SigningKeySet`` and carry the client's identity claims. The token endpoint follows
API.md §3.10: client_credentials only, ``client_secret_post`` or
``client_secret_basic``, checks in the order grant_type → client authentication →
scope (the form itself was parsed by the caller), RFC 6749 error bodies.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import unquote_plus
from uuid import UUID

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.backends.embedded.secrets import (
    generate_client_id,
    generate_client_secret,
    hash_client_secret,
    verify_client_secret,
)
from moltnet.backends.embedded.tokens import (
    CLAIM_FINGERPRINT,
    CLAIM_IDENTITY_ID,
    CLAIM_PUBLIC_KEY,
    InvalidToken,
    JwtVerifier,
    SigningKeySet,
    mint_access_token,
)
from moltnet.backends.protocols import ClientCredentials, OAuth2ClientInfo, TokenEndpointResponse
from moltnet.db.models import OAuth2Client
from moltnet.db.repositories.oauth2_clients import OAuth2ClientRepository
from moltnet.errors import NotFound

logger = structlog.get_logger(__name__)

GRANT_CLIENT_CREDENTIALS: Final = "client_credentials"
# Client ids we issue are UUIDs; anything far longer is refused before touching the table.
MAX_CLIENT_ID_LENGTH: Final = 256
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
NO_STORE_HEADERS: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Compared against when the client is unknown, so a miss costs the same as a wrong secret.
_DUMMY_HASH: Final = hash_client_secret("moltnet-unknown-client")


def token_error(
    status: int, error: str, description: str, *, basic_challenge: bool = False
) -> TokenEndpointResponse:
    """An RFC 6749 §5.2 error answer of the token endpoint."""
    headers = dict(NO_STORE_HEADERS)
    if basic_challenge:
        headers["WWW-Authenticate"] = 'Basic realm="moltnet", charset="UTF-8"'
    return TokenEndpointResponse(
        status=status, body={"error": error, "error_description": description}, headers=headers
    )


@dataclass(frozen=True)
class _PresentedCredentials:
    client_id: str
    client_secret: str
    basic: bool  # sent in the Authorization header (client_secret_basic)


def _presented_credentials(
    form: Mapping[str, str], authorization: str | None
) -> _PresentedCredentials | TokenEndpointResponse:
    """The client credentials of the request (RFC 6749 §2.3.1), or the error to answer."""
    if authorization is None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if not client_id or not client_secret:
            return token_error(401, "invalid_client", "client authentication is required")
        return _PresentedCredentials(client_id, client_secret, basic=False)
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return token_error(
            401, "invalid_client", "only HTTP Basic client authentication", basic_challenge=True
        )
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return token_error(
            401, "invalid_client", "malformed Basic credentials", basic_challenge=True
        )
    raw_id, separator, raw_secret = decoded.partition(":")
    # The Basic user and password are form-urlencoded first (RFC 6749 §2.3.1).
    client_id, client_secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    if not separator or not client_id or not client_secret:
        return token_error(
            401, "invalid_client", "malformed Basic credentials", basic_challenge=True
        )
    if "client_secret" in form:
        return token_error(400, "invalid_request", "use one client authentication method only")
    if "client_id" in form and form["client_id"] != client_id:
        return token_error(400, "invalid_request", "client_id differs from the Basic credentials")
    return _PresentedCredentials(client_id, client_secret, basic=True)


def _granted_scopes(requested: str | None, held: Sequence[str]) -> list[str] | None:
    """The scopes to grant (the requested subset, or all held), or None if not allowed."""
    if requested is None or not requested.strip():
        return sorted(set(held))
    asked = requested.split()
    if not all(_SCOPE_TOKEN.fullmatch(scope) for scope in asked):
        return None
    if not set(asked) <= set(held):
        return None
    return sorted(set(asked))


def _identity_of(client: OAuth2Client) -> tuple[UUID, str, str] | None:
    metadata = client.client_metadata or {}
    identity_id = client.identity_id or metadata.get("identity_id")
    public_key, fingerprint = metadata.get("public_key"), metadata.get("fingerprint")
    if not identity_id or not isinstance(public_key, str) or not isinstance(fingerprint, str):
        return None
    try:
        return UUID(str(identity_id)), public_key, fingerprint
    except ValueError:
        return None


def _client_info(client: OAuth2Client) -> OAuth2ClientInfo:
    metadata = {key: str(value) for key, value in (client.client_metadata or {}).items()}
    identity = _identity_of(client)
    return OAuth2ClientInfo(
        client_id=client.client_id,
        scopes=frozenset(client.scopes),
        metadata=metadata,
        identity_id=identity[0] if identity else client.identity_id,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class EmbeddedOAuth2Backend:
    """``OAuth2Backend`` on our own tables, issuing JWTs signed with ``signing_keys``.

    ``sessionmaker`` is the one the caller works with: each operation runs in its own
    short transaction. ``audience`` is what tokens carry in ``aud``; ``verify_audience``
    (OAUTH2_AUDIENCE) is what introspection checks, if anything.
    """

    kind = "embedded"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        signing_keys: SigningKeySet,
        issuer: str,
        audience: str,
        verify_audience: str | None = None,
        access_token_ttl_seconds: int = 3600,
        pepper: bytes = b"",
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._signing_keys = signing_keys
        self._issuer = issuer
        self._audience = audience
        self._verify_audience = verify_audience
        self._ttl = access_token_ttl_seconds
        self._pepper = pepper
        self._clock = clock
        self._verifier = JwtVerifier(
            self._local_jwks,
            issuer=issuer,
            audience=verify_audience,
            clock=lambda: self._clock().timestamp(),
        )

    def using(self, sessionmaker: async_sessionmaker[AsyncSession]) -> EmbeddedOAuth2Backend:
        """The same issuer reading its tables through another sessionmaker (the request's,
        which tests bind to their rolled-back transaction)."""
        if sessionmaker is self._sessionmaker:
            return self
        return EmbeddedOAuth2Backend(
            sessionmaker,
            signing_keys=self._signing_keys,
            issuer=self._issuer,
            audience=self._audience,
            verify_audience=self._verify_audience,
            access_token_ttl_seconds=self._ttl,
            pepper=self._pepper,
            clock=self._clock,
        )

    @property
    def signing_keys(self) -> SigningKeySet:
        return self._signing_keys

    async def _local_jwks(self) -> dict[str, object]:
        return dict(self._signing_keys.public_jwks())

    # --- client registry ---------------------------------------------------------

    async def create_client(
        self, *, identity_id: UUID, public_key: str, fingerprint: str, scopes: Sequence[str]
    ) -> ClientCredentials:
        client_id, secret = generate_client_id(), generate_client_secret()
        client = OAuth2Client(
            client_id=client_id,
            secret_hash=hash_client_secret(secret, pepper=self._pepper),
            scopes=sorted(set(scopes)),
            grant_types=[GRANT_CLIENT_CREDENTIALS],
            client_metadata={
                "identity_id": str(identity_id),
                "public_key": public_key,
                "fingerprint": fingerprint,
            },
            identity_id=identity_id,
        )
        async with self._sessionmaker.begin() as session:
            await OAuth2ClientRepository(session).add(client)
        logger.info("oauth2 client created", client_id=client_id, identity_id=str(identity_id))
        return ClientCredentials(client_id=client_id, client_secret=secret)

    async def rotate_secret(self, client_id: str) -> ClientCredentials:
        """A new secret; the old one fails from the moment this returns.

        Raises ``NotFound`` when the client does not exist.
        """
        secret = generate_client_secret()
        async with self._sessionmaker.begin() as session:
            replaced = await OAuth2ClientRepository(session).replace_secret_hash(
                client_id, hash_client_secret(secret, pepper=self._pepper)
            )
        if not replaced:
            raise NotFound("oauth2 client not found")
        logger.info("oauth2 client secret rotated", client_id=client_id)
        return ClientCredentials(client_id=client_id, client_secret=secret)

    async def delete_client(self, client_id: str) -> None:
        async with self._sessionmaker.begin() as session:
            await OAuth2ClientRepository(session).remove(client_id)

    async def get_client(self, client_id: str) -> OAuth2ClientInfo | None:
        if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH or "\x00" in client_id:
            return None
        async with self._sessionmaker() as session:
            client = await OAuth2ClientRepository(session).get(client_id)
        return None if client is None else _client_info(client)

    async def find_client_for_identity(self, identity_id: UUID) -> OAuth2ClientInfo | None:
        async with self._sessionmaker() as session:
            client = await OAuth2ClientRepository(session).latest_for_identity(identity_id)
        return None if client is None else _client_info(client)

    # --- token endpoint ------------------------------------------------------------

    async def token(
        self, form: Mapping[str, str], authorization: str | None
    ) -> TokenEndpointResponse:
        grant_type = form.get("grant_type")
        if not grant_type:
            return token_error(400, "invalid_request", "grant_type is required")
        if grant_type != GRANT_CLIENT_CREDENTIALS:
            return token_error(
                400, "unsupported_grant_type", "only client_credentials is supported"
            )
        presented = _presented_credentials(form, authorization)
        if isinstance(presented, TokenEndpointResponse):
            return presented
        client = await self._authenticated_client(presented)
        if client is None:
            return token_error(
                401,
                "invalid_client",
                "client authentication failed",
                basic_challenge=presented.basic,
            )
        identity = _identity_of(client)
        if GRANT_CLIENT_CREDENTIALS not in client.grant_types or identity is None:
            return token_error(
                400, "unauthorized_client", "the client may not use client_credentials"
            )
        scopes = _granted_scopes(form.get("scope"), client.scopes)
        if scopes is None:
            return token_error(400, "invalid_scope", "the client does not hold the requested scope")
        identity_id, public_key, fingerprint = identity
        access_token, expires_in = mint_access_token(
            self._signing_keys,
            issuer=self._issuer,
            audience=self._audience,
            client_id=client.client_id,
            scopes=scopes,
            identity_id=identity_id,
            public_key=public_key,
            fingerprint=fingerprint,
            ttl_seconds=self._ttl,
            now=self._clock(),
        )
        body = {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": expires_in,
            "scope": " ".join(scopes),
        }
        return TokenEndpointResponse(status=200, body=body, headers=dict(NO_STORE_HEADERS))

    async def _authenticated_client(self, presented: _PresentedCredentials) -> OAuth2Client | None:
        client: OAuth2Client | None = None
        client_id = presented.client_id
        if len(client_id) <= MAX_CLIENT_ID_LENGTH and "\x00" not in client_id:
            async with self._sessionmaker() as session:
                client = await OAuth2ClientRepository(session).get(client_id)
        stored = client.secret_hash if client is not None else _DUMMY_HASH
        matches = verify_client_secret(presented.client_secret, stored, pepper=self._pepper)
        return client if client is not None and matches else None

    # --- introspection and health ----------------------------------------------------

    async def introspect(self, token: str) -> Mapping[str, object] | None:
        """RFC 7662-style claims of one of our own JWTs; None when it is not active."""
        try:
            claims = await self._verifier.verify(token)
        except InvalidToken:
            return None
        result: dict[str, object] = {
            "active": True,
            "client_id": claims.client_id,
            "scope": " ".join(sorted(claims.scopes)),
            "iss": claims.issuer,
            "exp": int(claims.expires_at.timestamp()),
            "token_type": "Bearer",
        }
        if claims.subject is not None:
            result["sub"] = claims.subject
        if claims.issued_at is not None:
            result["iat"] = int(claims.issued_at.timestamp())
        if claims.identity_id is not None:
            result[CLAIM_IDENTITY_ID] = str(claims.identity_id)
        if claims.public_key is not None:
            result[CLAIM_PUBLIC_KEY] = claims.public_key
        if claims.fingerprint is not None:
            result[CLAIM_FINGERPRINT] = claims.fingerprint
        return result

    async def ping(self) -> None:
        async with self._sessionmaker() as session:
            await session.execute(text("SELECT 1 FROM embedded.oauth2_clients LIMIT 1"))
