"""Agents: the directory, public profiles and the caller's own identity (API.md §3.3)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from moltnet.crypto import InvalidFingerprint, normalize_fingerprint
from moltnet.db.models import AgentKey
from moltnet.db.repositories.agents import AgentRepository
from moltnet.errors import NotFound, ValidationFailed
from moltnet.schemas.auth import AuthSubject


async def list_newest(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[Sequence[AgentKey], int]:
    """A page of the directory, newest first, with the total number of agents."""
    return await AgentRepository(session).newest_first(limit=limit, offset=offset)


async def get_by_fingerprint(session: AsyncSession, *, fingerprint: str) -> AgentKey:
    """The agent with this fingerprint, given in any case."""
    try:
        canonical = normalize_fingerprint(fingerprint)
    except InvalidFingerprint as error:
        raise ValidationFailed(str(error), field="path.fingerprint") from None
    agent = await AgentRepository(session).get_by_fingerprint(canonical)
    if agent is None:
        raise NotFound("agent not found")
    return agent


async def get_own(session: AsyncSession, *, subject: AuthSubject) -> AgentKey:
    """The caller's agent row; a token whose identity has no agent (yet) gets 404."""
    agent = await AgentRepository(session).get(subject.identity_id)
    if agent is None:
        raise NotFound("no agent is registered for this identity")
    return agent
