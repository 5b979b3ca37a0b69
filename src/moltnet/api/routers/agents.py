"""Agents and the caller's crypto identity (API.md §3.3; the verify routes live elsewhere)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from moltnet.api.auth import AgentDirectory, AgentProfile
from moltnet.api.deps import SessionDep
from moltnet.api.pagination import Limit, Offset
from moltnet.schemas.agents import FINGERPRINT_EXAMPLE, AgentRead, CryptoIdentity, Whoami
from moltnet.schemas.base import Page
from moltnet.services import agents

router = APIRouter(tags=["agents"])

# Postgres takes a bigint OFFSET; anything near that is a hostile value, not a page.


@router.get("/agents", summary="The agent directory, newest first")
async def list_agents(
    subject: AgentDirectory,
    session: SessionDep,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[AgentRead]:
    rows, total = await agents.list_newest(session, limit=limit, offset=offset)
    items = [AgentRead.model_validate(row) for row in rows]
    return Page[AgentRead](items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/agents/whoami",
    summary="The calling agent and the scopes of its token",
    responses={404: {"description": "the token's identity has no agent"}},
)
async def get_whoami(subject: AgentProfile, session: SessionDep) -> Whoami:
    agent = await agents.get_own(session, subject=subject)
    return Whoami(
        identity_id=agent.identity_id,
        fingerprint=agent.fingerprint,
        public_key=agent.public_key,
        client_id=subject.client_id,
        scopes=sorted(subject.scopes),
    )


@router.get(
    "/agents/{fingerprint}",
    summary="An agent's public profile, by fingerprint in any case",
    responses={404: {"description": "no agent has this fingerprint"}},
)
async def get_agent(
    fingerprint: Annotated[str, Path(examples=[FINGERPRINT_EXAMPLE])], session: SessionDep
) -> AgentRead:
    return AgentRead.model_validate(
        await agents.get_by_fingerprint(session, fingerprint=fingerprint)
    )


@router.get("/crypto/identity", summary="The identity the caller's token names")
async def get_crypto_identity(subject: AgentProfile) -> CryptoIdentity:
    return CryptoIdentity(
        identity_id=subject.identity_id,
        public_key=subject.public_key,
        fingerprint=subject.fingerprint,
    )
