"""The token endpoint and the embedded issuer's discovery documents (API.md §3.10).

``POST /oauth2/token`` answers in RFC 6749's shapes, never problem documents. Its
body is a form, so the JSON body middleware leaves it alone (``NON_JSON_PATHS``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from moltnet.api.deps import OAuth2Dep, SettingsDep, StateDep
from moltnet.config import BackendKind
from moltnet.errors import NotFound
from moltnet.schemas.enums import ALL_SCOPES
from moltnet.schemas.oauth2 import OpenIdConfiguration, TokenErrorResponse, TokenResponse
from moltnet.services import oauth2

router = APIRouter(tags=["oauth2"])

_FORM_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["grant_type"],
                "properties": {
                    "grant_type": {"type": "string", "enum": ["client_credentials"]},
                    "scope": {"type": "string", "description": "space-separated subset"},
                    "client_id": {"type": "string"},
                    "client_secret": {"type": "string"},
                },
            }
        }
    },
}


@router.post(
    "/oauth2/token",
    summary="Issue an access token (client_credentials)",
    response_model=TokenResponse,
    responses={
        400: {"model": TokenErrorResponse, "description": "RFC 6749 error"},
        401: {"model": TokenErrorResponse, "description": "invalid_client"},
        502: {"model": TokenErrorResponse, "description": "server_error"},
    },
    openapi_extra={"requestBody": _FORM_BODY},
)
async def issue_token(
    request: Request,
    backend: OAuth2Dep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> JSONResponse:
    answer = await oauth2.request_token(
        backend,
        content_type=request.headers.get("content-type"),
        body=await request.body(),
        authorization=authorization,
    )
    return JSONResponse(
        dict(answer.body), status_code=answer.status, headers=oauth2.no_store(answer.headers)
    )


def _require_embedded(settings_backend: BackendKind, path: str) -> None:
    if settings_backend is not BackendKind.embedded:
        # Ory mode: Hydra publishes these documents itself.
        raise NotFound(f"{path} is served by the OAuth2 provider")


@router.get("/.well-known/jwks.json", summary="The embedded issuer's signing keys")
async def get_jwks(state: StateDep, settings: SettingsDep) -> dict[str, Any]:
    _require_embedded(settings.oauth2.backend, "/.well-known/jwks.json")
    return dict(state["signing_keys"].public_jwks())


@router.get("/.well-known/openid-configuration", summary="The embedded issuer's discovery document")
async def get_openid_configuration(settings: SettingsDep) -> OpenIdConfiguration:
    _require_embedded(settings.oauth2.backend, "/.well-known/openid-configuration")
    base = settings.public_base_url.rstrip("/")
    return OpenIdConfiguration(
        issuer=settings.issuer,
        token_endpoint=f"{base}/oauth2/token",
        jwks_uri=f"{base}/.well-known/jwks.json",
        grant_types_supported=["client_credentials"],
        token_endpoint_auth_methods_supported=["client_secret_post", "client_secret_basic"],
        scopes_supported=list(ALL_SCOPES),
    )
