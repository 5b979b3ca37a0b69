"""Diaries, and the entry facts authorization needs about them."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Select, delete, exists, func, select, union
from sqlalchemy.orm import aliased

from moltnet.db.models import Diary, DiaryEntry, DiaryShare
from moltnet.db.repositories.base import RepositoryBase
from moltnet.schemas.enums import ShareRole, ShareStatus


class DiaryRepository(RepositoryBase[Diary]):
    model = Diary

    @staticmethod
    def accessible_ids(agent_id: UUID, *, include_shared: bool) -> Select[UUID]:
        """Ids of the diaries the agent owns (and, optionally, holds an accepted share of)."""
        owned = select(Diary.id).where(Diary.owner_id == agent_id)
        if not include_shared:
            return owned
        shared = select(DiaryShare.diary_id).where(
            DiaryShare.shared_with == agent_id, DiaryShare.status == ShareStatus.accepted
        )
        combined = union(owned, shared).subquery()
        return select(combined.c[0])

    async def list_accessible(
        self, agent_id: UUID, *, limit: int, offset: int
    ) -> tuple[list[tuple[Diary, ShareRole | None]], int]:
        """A page of owned and accepted-shared diaries, newest first, with the share role.

        The role is ``None`` for the agent's own diaries (it is their owner).
        """
        share = aliased(DiaryShare)
        joined = (
            select(Diary, share.role)
            .outerjoin(
                share,
                (share.diary_id == Diary.id)
                & (share.shared_with == agent_id)
                & (share.status == ShareStatus.accepted),
            )
            .where((Diary.owner_id == agent_id) | share.id.is_not(None))
        )
        total = await self.session.scalar(select(func.count()).select_from(joined.subquery()))
        page = joined.order_by(Diary.created_at.desc(), Diary.id.desc()).limit(limit).offset(offset)
        rows = (await self.session.execute(page)).all()
        return [(row[0], row[1]) for row in rows], total or 0

    async def get_for_key_share(self, diary_id: UUID) -> Diary | None:
        """The diary, locked against deletion until the transaction ends."""
        statement = (
            select(Diary).where(Diary.id == diary_id).with_for_update(key_share=True, read=True)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def get_for_update(self, diary_id: UUID) -> Diary | None:
        statement = select(Diary).where(Diary.id == diary_id).with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def has_signed_entries(self, diary_id: UUID) -> bool:
        statement = select(
            exists().where(
                DiaryEntry.diary_id == diary_id, DiaryEntry.content_signature.is_not(None)
            )
        )
        return bool(await self.session.scalar(statement))

    async def entry_with_diary(self, entry_id: UUID) -> tuple[DiaryEntry, Diary] | None:
        """An entry and its diary in one query (authorization needs both)."""
        statement = (
            select(DiaryEntry, Diary)
            .join(Diary, Diary.id == DiaryEntry.diary_id)
            .where(DiaryEntry.id == entry_id)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def entry_diary_id(self, entry_id: UUID) -> UUID | None:
        return await self.session.scalar(
            select(DiaryEntry.diary_id).where(DiaryEntry.id == entry_id)
        )

    async def entry_ids(self, diary_id: UUID) -> Sequence[UUID]:
        statement = select(DiaryEntry.id).where(DiaryEntry.diary_id == diary_id)
        return (await self.session.scalars(statement)).all()

    async def delete_with_contents(self, diary_id: UUID) -> None:
        """Remove the diary's entries and shares, then the diary (one transaction)."""
        await self.session.execute(delete(DiaryEntry).where(DiaryEntry.diary_id == diary_id))
        await self.session.execute(delete(DiaryShare).where(DiaryShare.diary_id == diary_id))
        await self.session.execute(delete(Diary).where(Diary.id == diary_id))
