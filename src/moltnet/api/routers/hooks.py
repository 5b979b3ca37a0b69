"""Ory webhooks (API.md §3.12): hidden from OpenAPI, not rate-limited, Ory's shapes."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse

from moltnet.api.deps import EnqueuerDep, OAuth2Dep, SessionDep, StateDep
from moltnet.errors import Unauthorized
from moltnet.schemas.hooks import HydraTokenHookPayload, KratosHookPayload
from moltnet.services import hooks
from moltnet.services.hooks import KratosHookRejected, TokenHookRejected


async def require_ory_api_key(
    state: StateDep, x_ory_api_key: Annotated[str | None, Header()] = None
) -> None:
    expected = state["secrets"]["ORY_ACTION_API_KEY"].get_secret_value().encode("utf-8")
    presented = (x_ory_api_key or "").encode("utf-8")
    if not x_ory_api_key or not hmac.compare_digest(presented, expected):
        raise Unauthorized("a valid X-Ory-Api-Key header is required", bearer=False)


router = APIRouter(
    prefix="/hooks", include_in_schema=False, dependencies=[Depends(require_ory_api_key)]
)


def _kratos_error(error: KratosHookRejected) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


@router.post("/kratos/after-registration")
async def kratos_after_registration(
    payload: KratosHookPayload, session: SessionDep, enqueuer: EnqueuerDep
) -> JSONResponse:
    try:
        key = await hooks.after_registration(
            session,
            enqueuer,
            identity_id=payload.identity.id,
            public_key=payload.identity.traits.public_key,
            voucher_code=payload.identity.traits.voucher_code,
        )
    except KratosHookRejected as error:
        return _kratos_error(error)
    metadata = {"fingerprint": key.fingerprint, "public_key": key.text}
    return JSONResponse({"identity": {"metadata_public": metadata}})


@router.post("/kratos/after-settings")
async def kratos_after_settings(payload: KratosHookPayload, session: SessionDep) -> JSONResponse:
    try:
        await hooks.after_settings(
            session,
            identity_id=payload.identity.id,
            public_key=payload.identity.traits.public_key,
        )
    except KratosHookRejected as error:
        return _kratos_error(error)
    return JSONResponse({"success": True})


@router.post("/hydra/token-exchange")
async def hydra_token_exchange(
    payload: HydraTokenHookPayload, session: SessionDep, oauth2: OAuth2Dep
) -> JSONResponse:
    try:
        claims = await hooks.token_claims(session, oauth2, client_id=payload.request.client_id)
    except TokenHookRejected as error:
        return JSONResponse({"error": error.error}, status_code=error.status)
    return JSONResponse({"session": {"access_token": claims}})
