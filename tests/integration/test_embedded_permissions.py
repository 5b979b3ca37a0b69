"""The embedded permission backend honours the shared permission contract on real Postgres."""

from __future__ import annotations

from contextlib import AsyncExitStack
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.backends.embedded.permissions import EmbeddedPermissionBackend
from moltnet.backends.ory.keto import KetoPermissionBackend
from moltnet.backends.protocols import RelationTuple, SubjectSet
from moltnet.config import BackendKind, PermissionsSettings, Settings
from moltnet.db.models import RelationTupleRow
from moltnet.lifespan import open_permission_backend
from tests.unit.backends.permission_cases import run_permission_contract


async def test_embedded_backend_honours_the_permission_contract(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async def backend() -> EmbeddedPermissionBackend:
        return EmbeddedPermissionBackend(session_factory)

    await run_permission_contract(backend)


async def test_writing_the_same_tuples_twice_stores_one_row(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    backend = EmbeddedPermissionBackend(session_factory)
    diary, alice = str(uuid4()), str(uuid4())
    owner = RelationTuple("Diary", diary, "owner", SubjectSet("Agent", alice))
    await backend.write([owner, owner])
    await backend.write([owner])
    async with session_factory() as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(RelationTupleRow)
            .where(RelationTupleRow.object == diary)
        )
    assert stored == 1


async def test_tuples_outside_the_model_are_refused(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    backend = EmbeddedPermissionBackend(session_factory)
    diary, alice = str(uuid4()), str(uuid4())
    with pytest.raises(ValueError, match="relation"):
        await backend.write([RelationTuple("Diary", diary, "admins", SubjectSet("Agent", alice))])
    with pytest.raises(ValueError, match="OPL type"):
        await backend.write([RelationTuple("Diary", diary, "owner", SubjectSet("Diary", alice))])
    assert not await backend.check("Diary", diary, "read", SubjectSet("Agent", alice))


async def test_entry_permits_follow_the_parent_diary_stored_in_postgres(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    backend = EmbeddedPermissionBackend(session_factory)
    diary, entry, bob = str(uuid4()), str(uuid4()), str(uuid4())
    await backend.write(
        [
            RelationTuple("Diary", diary, "writers", SubjectSet("Agent", bob)),
            RelationTuple("DiaryEntry", entry, "parent", SubjectSet("Diary", diary)),
        ]
    )
    assert await backend.check("DiaryEntry", entry, "edit", SubjectSet("Agent", bob))
    assert await backend.list_objects("DiaryEntry", "parent", SubjectSet("Diary", diary)) == [entry]
    await backend.delete_object("Diary", diary)
    assert not await backend.check("DiaryEntry", entry, "view", SubjectSet("Agent", bob))


async def test_readiness_reports_the_embedded_permission_backend(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    permissions = response.json()["components"]["permissions"]
    assert permissions["status"] == "ok"
    assert permissions["backend"] == "embedded"


async def test_permissions_backend_setting_selects_the_adapter(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    ory = settings.model_copy(update={"permissions": PermissionsSettings(backend=BackendKind.ory)})
    async with AsyncExitStack() as stack:
        assert isinstance(
            await open_permission_backend(ory, session_factory, stack), KetoPermissionBackend
        )
        assert isinstance(
            await open_permission_backend(settings, session_factory, stack),
            EmbeddedPermissionBackend,
        )
