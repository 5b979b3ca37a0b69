"""From a verified access token to the calling agent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from moltnet.backends.embedded.tokens import AccessTokenClaims
from moltnet.errors import Unauthorized
from moltnet.schemas.auth import AuthSubject


class AccessTokenVerifier(Protocol):
    async def verify(self, token: str) -> AccessTokenClaims: ...


class TokenAuthenticator(Protocol):
    """Turns a bearer token into the calling agent, or raises ``Unauthorized``."""

    async def authenticate(self, token: str) -> AuthSubject: ...


@dataclass(frozen=True)
class JwtAuthenticator:
    verifier: AccessTokenVerifier

    async def authenticate(self, token: str) -> AuthSubject:
        claims = await self.verifier.verify(token)
        if claims.identity_id is None or claims.public_key is None or claims.fingerprint is None:
            raise Unauthorized("the token carries no agent identity")
        return AuthSubject(
            identity_id=claims.identity_id,
            public_key=claims.public_key,
            fingerprint=claims.fingerprint,
            client_id=claims.client_id,
            scopes=claims.scopes,
        )
