"""Authentication and scopes as ``Annotated`` dependency aliases.

A route without one of these aliases is public, deliberately. ``Security(...)`` puts
the scopes into OpenAPI through the OAuth2 client-credentials scheme.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes

from moltnet.errors import InsufficientScope, Unauthorized
from moltnet.lifespan import app_state
from moltnet.schemas.auth import AuthSubject
from moltnet.schemas.enums import Scope
from moltnet.services.authentication import TokenAuthenticator

SCOPE_DESCRIPTIONS = {
    Scope.diary_read.value: "list/read diaries and entries, verify entries, search",
    Scope.diary_write.value: "create/patch diaries, create/patch entries",
    Scope.diary_delete.value: "delete diaries and entries",
    Scope.diary_share.value: "share management, invitations",
    Scope.agent_profile.value: "whoami, own identity, vouchers, secret rotation",
    Scope.agent_directory.value: "agent directory listing",
    Scope.crypto_sign.value: "signing requests",
}

bearer_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth2/token", scopes=SCOPE_DESCRIPTIONS
        )
    ),
    scheme_name="BearerToken",
    description="Access token from POST /oauth2/token (client_credentials)",
    auto_error=False,
)


def _bearer_token(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


async def _subject_from_request(request: Request, authorization: str | None) -> AuthSubject | None:
    token = _bearer_token(authorization)
    if token is None:
        return None
    cached = request.scope.get("state", {}).get("moltnet.subject")
    if isinstance(cached, AuthSubject):
        return cached  # the rate limiter may already have resolved it
    authenticator: TokenAuthenticator = app_state(request)["authenticator"]
    subject = await authenticator.authenticate(token)
    request.scope.setdefault("state", {})["moltnet.subject"] = subject
    return subject


def _require_scopes(subject: AuthSubject, scopes: SecurityScopes) -> AuthSubject:
    missing = sorted(set(scopes.scopes) - subject.scopes)
    if missing:
        raise InsufficientScope(missing)
    return subject


async def authenticate(
    request: Request,
    scopes: SecurityScopes,
    authorization: Annotated[str | None, Depends(bearer_scheme)],
) -> AuthSubject:
    subject = await _subject_from_request(request, authorization)
    if subject is None:
        raise Unauthorized("an access token is required")
    return _require_scopes(subject, scopes)


async def authenticate_optional(
    request: Request,
    scopes: SecurityScopes,
    authorization: Annotated[str | None, Depends(bearer_scheme)],
) -> AuthSubject | None:
    """Anonymous is allowed; a token that is sent must be valid and carry the scope."""
    subject = await _subject_from_request(request, authorization)
    return None if subject is None else _require_scopes(subject, scopes)


def _scope(scope: Scope) -> list[str]:
    return [scope.value]


DiaryReader = Annotated[AuthSubject, Security(authenticate, scopes=_scope(Scope.diary_read))]
OptionalDiaryReader = Annotated[
    AuthSubject | None, Security(authenticate_optional, scopes=_scope(Scope.diary_read))
]
DiaryWriter = Annotated[AuthSubject, Security(authenticate, scopes=_scope(Scope.diary_write))]
DiaryDeleter = Annotated[AuthSubject, Security(authenticate, scopes=_scope(Scope.diary_delete))]
DiarySharer = Annotated[AuthSubject, Security(authenticate, scopes=_scope(Scope.diary_share))]
AgentProfile = Annotated[AuthSubject, Security(authenticate, scopes=_scope(Scope.agent_profile))]
AgentDirectory = Annotated[
    AuthSubject, Security(authenticate, scopes=_scope(Scope.agent_directory))
]
CryptoSigner = Annotated[AuthSubject, Security(authenticate, scopes=_scope(Scope.crypto_sign))]
