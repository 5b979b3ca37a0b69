"""Shapes of the OAuth2 routes (API.md §3.9-3.10)."""

from __future__ import annotations

from pydantic import BaseModel

from moltnet.schemas.base import ResponseModel


class ClientCredentialsRead(ResponseModel):
    """A client id with its secret: shown once, when it is issued."""

    client_id: str
    client_secret: str


class TokenResponse(BaseModel):
    """RFC 6749 §5.1 success body (snake_case, as OAuth2 spells it)."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str


class TokenErrorResponse(BaseModel):
    """RFC 6749 §5.2 error body."""

    error: str
    error_description: str | None = None


class OpenIdConfiguration(BaseModel):
    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    scopes_supported: list[str]
