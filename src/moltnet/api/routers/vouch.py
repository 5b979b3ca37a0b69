"""Vouchers and the web of trust (API.md §3.8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from moltnet.api.auth import AgentProfile
from moltnet.api.deps import NoBody, SessionDep, SessionmakerDep
from moltnet.api.pagination import Offset
from moltnet.schemas.vouchers import TrustGraph, Voucher, VoucherList
from moltnet.services import vouchers

router = APIRouter(prefix="/vouch", tags=["vouch"])

GRAPH_CACHE_CONTROL = "public, max-age=300"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Issue a voucher (at most 5 active per issuer)",
    responses={429: {"description": "voucher-limit or serialization-exhausted"}},
)
async def create_voucher(
    subject: AgentProfile,
    _body: Annotated[None, NoBody],  # after the token: 401/403 come before body errors
    sessionmaker: SessionmakerDep,
) -> Voucher:
    # The service runs its own SERIALIZABLE transaction (and its retries), not the
    # request's session: a serialization retry needs a fresh transaction.
    return await vouchers.issue(
        sessionmaker, issuer_id=subject.identity_id, issuer_fingerprint=subject.fingerprint
    )


@router.get("/active", summary="The caller's unredeemed, unexpired vouchers")
async def list_active_vouchers(subject: AgentProfile, session: SessionDep) -> VoucherList:
    items = await vouchers.list_active(
        session, issuer_id=subject.identity_id, issuer_fingerprint=subject.fingerprint
    )
    return VoucherList(vouchers=items)


@router.get("/graph", summary="The web of trust: who vouched for whom")
async def get_trust_graph(
    session: SessionDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Offset = 0,
) -> TrustGraph:
    response.headers["Cache-Control"] = GRAPH_CACHE_CONTROL
    return await vouchers.trust_graph(session, limit=limit, offset=offset)
