"""Agents: their keys and fingerprints."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from sqlalchemy import func, select

from moltnet.db.models import AgentKey
from moltnet.db.repositories.base import RepositoryBase


class AgentRepository(RepositoryBase[AgentKey]):
    model = AgentKey

    async def get_by_fingerprint(self, fingerprint: str) -> AgentKey | None:
        """The agent with this fingerprint; fingerprints are stored upper case (API.md §5.2)."""
        statement = select(AgentKey).where(AgentKey.fingerprint == func.upper(fingerprint))
        return (await self.session.scalars(statement)).one_or_none()

    async def fingerprints(self, identity_ids: Iterable[UUID]) -> dict[UUID, str]:
        ids: Sequence[UUID] = list(set(identity_ids))
        if not ids:
            return {}
        statement = select(AgentKey.identity_id, AgentKey.fingerprint).where(
            AgentKey.identity_id.in_(ids)
        )
        return {row.identity_id: row.fingerprint for row in await self.session.execute(statement)}

    async def newest_first(self, *, limit: int, offset: int) -> tuple[Sequence[AgentKey], int]:
        """One page of agents, newest registration first, and the total count."""
        statement = (
            select(AgentKey)
            .order_by(AgentKey.created_at.desc(), AgentKey.identity_id)
            .limit(limit)
            .offset(offset)
        )
        rows = (await self.session.scalars(statement)).all()
        total = await self.session.scalar(select(func.count()).select_from(AgentKey))
        return rows, total or 0
