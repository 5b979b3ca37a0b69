"""Registration and client-secret rotation (API.md §3.9).

One router for ``/auth/*``: further routes (``POST /auth/register``) are added here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from moltnet.api.auth import AgentProfile
from moltnet.api.deps import EnqueuerDep, NoBody, OAuth2Dep, SessionmakerDep, SettingsDep
from moltnet.schemas.oauth2 import ClientCredentialsRead
from moltnet.schemas.registration import RegistrationRequest, RegistrationResult
from moltnet.services import oauth2, registration

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/rotate-secret",
    summary="Issue a new secret for the token's client; the old one stops working at once",
    responses={502: {"description": "the OAuth2 backend failed"}},
)
async def rotate_secret(
    subject: AgentProfile,
    _body: Annotated[None, NoBody],  # after the token: 401/403 come before body errors
    backend: OAuth2Dep,
) -> ClientCredentialsRead:
    credentials = await oauth2.rotate_secret(backend, subject=subject)
    return ClientCredentialsRead(
        client_id=credentials.client_id, client_secret=credentials.client_secret
    )


@router.post(
    "/register",
    summary="Register an agent with a voucher; returns its OAuth2 client credentials",
    responses={
        403: {"description": "the voucher is missing, redeemed or expired"},
        409: {"description": "the public key is already registered"},
        502: {"description": "an identity or OAuth2 backend failed"},
        503: {"description": "the registration workflow did not finish in time"},
    },
)
async def register_agent(
    body: RegistrationRequest,
    sessionmaker: SessionmakerDep,
    enqueuer: EnqueuerDep,
    backend: OAuth2Dep,
    settings: SettingsDep,
) -> RegistrationResult:
    public_key = registration.parse_key(body.public_key)
    # The workflow is enqueued in this transaction, which commits before we wait for it:
    # the workflow exists exactly when the request was accepted.
    async with sessionmaker.begin() as session:
        workflow_id = await registration.start(
            session, enqueuer, public_key=public_key, voucher_code=body.voucher_code
        )
    return await registration.finish(
        enqueuer,
        backend,
        workflow_id=workflow_id,
        timeout_seconds=settings.identity.registration_timeout_seconds,
    )
