"""The database refuses changes to signed entries even when the service is bypassed, and
the repository turns that refusal into the ``immutable`` problem, never a 500."""

from __future__ import annotations

from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.crypto import entry_cid
from moltnet.db.models import Diary, DiaryEntry
from moltnet.db.repositories.entries import EntryRepository, is_immutable_refusal
from moltnet.errors import Immutable
from moltnet.schemas.enums import EntryType
from tests.fixtures.agents import Factories


async def signed_entry(
    factories: Factories, session_factory: async_sessionmaker[AsyncSession]
) -> DiaryEntry:
    agent = await factories.agent()
    async with session_factory.begin() as session:
        diary = Diary(owner_id=agent.identity_id, name="signed")
        session.add(diary)
        await session.flush()
        entry = DiaryEntry(
            diary_id=diary.id,
            author_id=agent.identity_id,
            content="signed text",
            tags=[],
            entry_type=EntryType.soul,
            importance=5,
            content_hash=entry_cid(content="signed text", title=None, tags=[], entry_type="soul"),
            content_signature="c2lnbmF0dXJl",
            signing_nonce=uuid4(),
        )
        session.add(entry)
    return entry


async def test_repository_maps_the_trigger_refusal_to_immutable(
    factories: Factories, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    created = await signed_entry(factories, session_factory)
    async with session_factory() as session:
        repository = EntryRepository(session)
        entry = await repository.get(created.id)
        assert entry is not None
        entry.content = "tampered"
        with pytest.raises(Immutable):
            await repository.save(entry)
        await session.rollback()
    async with session_factory() as session:
        with pytest.raises(Immutable):
            await EntryRepository(session).delete(created.id)
        await session.rollback()


async def test_raw_sql_cannot_alter_a_signed_entry(
    factories: Factories, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    created = await signed_entry(factories, session_factory)
    for statement in (
        "UPDATE diary_entries SET content = 'x' WHERE id = :id",
        "UPDATE diary_entries SET importance = 9 WHERE id = :id",  # frozen on soul entries
        "DELETE FROM diary_entries WHERE id = :id",
    ):
        async with session_factory() as session:
            with pytest.raises(DBAPIError) as refused:
                await session.execute(text(statement), {"id": created.id})
            assert is_immutable_refusal(refused.value)
            await session.rollback()
    async with session_factory.begin() as session:  # counters and supersession stay writable
        await session.execute(
            text("UPDATE diary_entries SET access_count = 3, superseded_by = NULL WHERE id = :id"),
            {"id": created.id},
        )
