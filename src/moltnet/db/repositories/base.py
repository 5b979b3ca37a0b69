"""The shared shape of a repository: one session, one mapped model."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from moltnet.db.base import Base

ModelT = TypeVar("ModelT", bound=Base)


class RepositoryBase(Generic[ModelT]):
    """Subclasses set ``model`` and add their queries; all SQL lives in repositories."""

    model: type[ModelT]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id: Any) -> ModelT | None:  # noqa: A002 - the primary key, as in session.get
        return await self.session.get(self.model, id)

    async def add(self, obj: ModelT) -> ModelT:
        """Add and flush, so ids, server defaults and constraint errors surface now."""
        self.session.add(obj)
        await self.session.flush()
        return obj

    async def refresh(self, obj: ModelT) -> ModelT:
        """Reload server-set columns (defaults, ``onupdate``) after a flush."""
        await self.session.refresh(obj)
        return obj
