"""From a bearer token to the calling agent (API.md §1.2).

JWTs are verified locally against the issuer's JWKS; opaque tokens (Hydra's
``ory_at_…``) are asked about through the OAuth2 backend's introspection. When a token
carries no ``moltnet:*`` identity claims (a Hydra token without the token hook), the
client's metadata names the identity, and the agent row supplies the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.backends.embedded.tokens import (
    CLAIM_FINGERPRINT,
    CLAIM_PUBLIC_KEY,
    MAX_TOKEN_LENGTH,
    AccessTokenClaims,
    InvalidToken,
    moltnet_claim,
    read_identity_id,
)
from moltnet.backends.protocols import OAuth2Backend
from moltnet.db.repositories.agents import AgentRepository
from moltnet.errors import Unauthorized
from moltnet.schemas.auth import AuthSubject

# RFC 6750 b64token: what an opaque bearer token may consist of.
_OPAQUE_TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
ACCESS_TOKEN_USE: Final = "access_token"  # noqa: S105 - RFC 7662 token_use value, no secret


class AccessTokenVerifier(Protocol):
    async def verify(self, token: str) -> AccessTokenClaims: ...


class TokenAuthenticator(Protocol):
    """Turns a bearer token into the calling agent, or raises ``Unauthorized``."""

    async def authenticate(self, token: str) -> AuthSubject: ...


@dataclass(frozen=True)
class _Identity:
    identity_id: UUID
    public_key: str
    fingerprint: str


@dataclass(frozen=True)
class JwtAuthenticator:
    """JWTs through ``verifier``; opaque tokens and identity look-ups through ``oauth2``.

    Without ``oauth2`` (and ``sessionmaker`` for the agent row) only JWTs that carry
    the identity claims are accepted.
    """

    verifier: AccessTokenVerifier
    oauth2: OAuth2Backend | None = None
    sessionmaker: async_sessionmaker[AsyncSession] | None = None

    async def authenticate(self, token: str) -> AuthSubject:
        if token.count(".") == 2:
            claims = await self.verifier.verify(token)
            client_id, scopes = claims.client_id, claims.scopes
            identity = _complete_identity(claims.identity_id, claims.public_key, claims.fingerprint)
        else:
            client_id, scopes, identity = await self._introspected(token)
        if identity is None:
            identity = await self._identity_of_client(client_id)
        return AuthSubject(
            identity_id=identity.identity_id,
            public_key=identity.public_key,
            fingerprint=identity.fingerprint,
            client_id=client_id,
            scopes=scopes,
        )

    async def _introspected(self, token: str) -> tuple[str, frozenset[str], _Identity | None]:
        if len(token) > MAX_TOKEN_LENGTH or not _OPAQUE_TOKEN.fullmatch(token):
            raise InvalidToken("malformed")
        if self.oauth2 is None:
            raise InvalidToken("malformed")
        result = await self.oauth2.introspect(token)
        if result is None or result.get("active") is not True:
            raise InvalidToken("inactive")
        token_use = result.get("token_use")
        if token_use is not None and token_use != ACCESS_TOKEN_USE:
            raise InvalidToken("inactive")  # a refresh token is not a bearer credential
        client_id = result.get("client_id")
        scope = result.get("scope", "")
        if not isinstance(client_id, str) or not client_id or not isinstance(scope, str):
            raise InvalidToken("missing claim")
        identity = _complete_identity(
            read_identity_id(result),
            moltnet_claim(result, CLAIM_PUBLIC_KEY),
            moltnet_claim(result, CLAIM_FINGERPRINT),
        )
        return client_id, frozenset(scope.split()), identity

    async def _identity_of_client(self, client_id: str) -> _Identity:
        if self.oauth2 is None or self.sessionmaker is None:
            raise Unauthorized("the token carries no agent identity")
        client = await self.oauth2.get_client(client_id)
        if client is None or client.identity_id is None:
            raise Unauthorized("the token carries no agent identity")
        async with self.sessionmaker() as session:
            agent = await AgentRepository(session).get(client.identity_id)
        if agent is None:
            raise Unauthorized("the token's client belongs to no agent")
        return _Identity(agent.identity_id, agent.public_key, agent.fingerprint)


def _complete_identity(
    identity_id: UUID | None, public_key: str | None, fingerprint: str | None
) -> _Identity | None:
    if identity_id is None or public_key is None or fingerprint is None:
        return None
    return _Identity(identity_id, public_key, fingerprint)
