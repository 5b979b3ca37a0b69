"""Signing requests (API.md §3.4) and the two signature verify routes (§3.3)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from moltnet.api.auth import CryptoSigner
from moltnet.api.deps import EnqueuerDep, SessionDep, SessionmakerDep, SettingsDep
from moltnet.api.pagination import Limit, Offset
from moltnet.errors import ValidationFailed
from moltnet.schemas.base import Page
from moltnet.schemas.enums import SigningRequestStatus
from moltnet.schemas.signing_requests import (
    AgentVerifyResult,
    SignatureSubmit,
    Signer,
    SigningRequestCreate,
    SigningRequestRead,
    VerifyResult,
)
from moltnet.services import signing_requests

router = APIRouter(tags=["signing requests"])

# How long /sign waits for the workflow's verdict before answering 202 (API.md §3.4).
SIGN_WAIT_SECONDS = 5.0


def _parse_statuses(raw: str | None) -> list[SigningRequestStatus] | None:
    if raw is None:
        return None
    statuses: list[SigningRequestStatus] = []
    for item in raw.split(","):
        try:
            statuses.append(SigningRequestStatus(item))
        except ValueError:
            allowed = ", ".join(member.value for member in SigningRequestStatus)
            raise ValidationFailed(
                "invalid status filter",
                field="query.status",
                message=f"each item must be one of {allowed}",
            ) from None
    return statuses


@router.post(
    "/crypto/signing-requests",
    status_code=status.HTTP_201_CREATED,
    summary="Create a signing request",
)
async def create_signing_request(
    body: SigningRequestCreate,
    subject: CryptoSigner,
    session: SessionDep,
    enqueuer: EnqueuerDep,
    settings: SettingsDep,
    response: Response,
) -> SigningRequestRead:
    row = await signing_requests.create(
        session,
        enqueuer,
        agent_id=subject.identity_id,
        message=body.message,
        ttl_seconds=settings.signing.request_ttl_seconds,
        max_pending=settings.signing.max_pending_requests,
    )
    response.headers["Location"] = f"/crypto/signing-requests/{row.id}"
    return signing_requests.present(row)


@router.get("/crypto/signing-requests", summary="List my signing requests")
async def list_signing_requests(
    subject: CryptoSigner,
    session: SessionDep,
    limit: Limit = 20,
    offset: Offset = 0,
    status_filter: Annotated[
        str | None,
        Query(alias="status", description="CSV of pending, completed, expired"),
    ] = None,
) -> Page[SigningRequestRead]:
    return await signing_requests.list_requests(
        session,
        agent_id=subject.identity_id,
        statuses=_parse_statuses(status_filter),
        limit=limit,
        offset=offset,
    )


@router.get("/crypto/signing-requests/{id}", summary="Get a signing request")
async def get_signing_request(
    id: UUID,  # noqa: A002 - the path parameter's documented name
    subject: CryptoSigner,
    session: SessionDep,
) -> SigningRequestRead:
    row = await signing_requests.get(session, agent_id=subject.identity_id, request_id=id)
    return signing_requests.present(row)


@router.post(
    "/crypto/signing-requests/{id}/sign",
    summary="Submit the signature of a signing request",
    responses={
        202: {
            "model": SigningRequestRead,
            "description": "submitted; verification still running (poll GET)",
        }
    },
)
async def sign_signing_request(
    id: UUID,  # noqa: A002 - the path parameter's documented name
    body: SignatureSubmit,
    subject: CryptoSigner,
    sessionmaker: SessionmakerDep,
    enqueuer: EnqueuerDep,
    response: Response,
) -> SigningRequestRead:
    # Own transaction: the claim and the workflow's wake-up must commit before we wait
    # for the workflow to act on them.
    async with sessionmaker.begin() as session:
        await signing_requests.submit(
            session,
            enqueuer,
            agent_id=subject.identity_id,
            request_id=id,
            signature=body.signature,
        )
    row = await signing_requests.wait_for_result(
        sessionmaker,
        agent_id=subject.identity_id,
        request_id=id,
        timeout_seconds=SIGN_WAIT_SECONDS,
    )
    if row.status is SigningRequestStatus.pending:
        response.status_code = status.HTTP_202_ACCEPTED
    return signing_requests.present(row)


@router.post("/crypto/verify", summary="Verify a signature of a completed signing request")
async def verify_signature(body: SignatureSubmit, session: SessionDep) -> VerifyResult:
    return VerifyResult(valid=await signing_requests.verify(session, signature=body.signature))


@router.post(
    "/agents/{fingerprint}/verify",
    summary="Verify that a signature is this agent's",
    tags=["agents"],
)
async def verify_agent_signature(
    fingerprint: str, body: SignatureSubmit, session: SessionDep
) -> AgentVerifyResult:
    signer = await signing_requests.verify_for_agent(
        session, fingerprint=fingerprint, signature=body.signature
    )
    return AgentVerifyResult(
        valid=signer is not None, signer=None if signer is None else Signer(fingerprint=signer)
    )
