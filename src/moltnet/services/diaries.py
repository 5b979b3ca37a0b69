"""Diaries: create, list, read, update and delete, with their permission workflows."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from moltnet.db.models import Diary
from moltnet.db.repositories.diaries import DiaryRepository
from moltnet.errors import Immutable, NotFound
from moltnet.schemas.auth import AuthSubject
from moltnet.schemas.diaries import DiaryRead
from moltnet.schemas.enums import Visibility
from moltnet.services.authz import DIARY_NOT_FOUND, Authz, Role
from moltnet.workflows.enqueue import Enqueuer, WorkflowName


def grant_owner_workflow_id(diary_id: UUID) -> str:
    return f"keto:grant-owner:{diary_id}"


def remove_diary_workflow_id(diary_id: UUID) -> str:
    return f"keto:remove-diary:{diary_id}"


async def create(
    session: AsyncSession,
    enqueuer: Enqueuer,
    *,
    owner_id: UUID,
    name: str,
    visibility: Visibility = Visibility.private,
) -> Diary:
    """Insert the diary and enqueue its owner grant in the same transaction."""
    repository = DiaryRepository(session)
    diary = await repository.add(Diary(owner_id=owner_id, name=name, visibility=visibility))
    await enqueuer.enqueue(
        session,
        WorkflowName.keto_grant_owner,
        str(diary.id),
        str(owner_id),
        workflow_id=grant_owner_workflow_id(diary.id),
    )
    return await repository.refresh(diary)


async def list_accessible(
    authz: Authz, *, subject: AuthSubject, limit: int, offset: int
) -> tuple[list[tuple[Diary, Role]], int]:
    """Owned and accepted-shared diaries, newest first, with the caller's role."""
    rows, total = await DiaryRepository(authz.session).list_accessible(
        subject.identity_id, limit=limit, offset=offset
    )
    return [
        (diary, Role.owner if role is None else Role(role.value)) for diary, role in rows
    ], total


async def get(
    authz: Authz, *, subject: AuthSubject | None, diary_id: UUID
) -> tuple[Diary, Role | None]:
    diary = await authz.readable_diary(subject, diary_id)
    return diary, await authz.role_of(subject, diary)


async def update(
    authz: Authz,
    *,
    subject: AuthSubject,
    diary_id: UUID,
    name: str | None,
    visibility: Visibility | None,
) -> Diary:
    diary = await authz.manageable_diary(subject, diary_id)
    if name is not None:
        diary.name = name
    if visibility is not None:
        diary.visibility = visibility
    repository = DiaryRepository(authz.session)
    await authz.session.flush()
    return await repository.refresh(diary)


async def delete(authz: Authz, enqueuer: Enqueuer, *, subject: AuthSubject, diary_id: UUID) -> None:
    """Delete the diary, its entries and shares; its tuples go in the same transaction's workflow."""
    await authz.manageable_diary(subject, diary_id)
    repository = DiaryRepository(authz.session)
    # The row lock makes the signed-entry check and the delete one decision: new entries
    # (which lock the diary row through their foreign key) wait for this transaction.
    locked = await repository.get_for_update(diary_id)
    if locked is None:  # deleted by a concurrent request since the check above
        raise NotFound(DIARY_NOT_FOUND)
    if await repository.has_signed_entries(diary_id):
        raise Immutable("the diary holds signed entries and cannot be deleted")
    await repository.delete_with_contents(diary_id)
    await enqueuer.enqueue(
        authz.session,
        WorkflowName.keto_remove_diary,
        str(diary_id),
        workflow_id=remove_diary_workflow_id(diary_id),
    )


def present(diary: Diary, role: Role | None) -> DiaryRead:
    return DiaryRead(
        id=diary.id,
        owner_id=diary.owner_id,
        name=diary.name,
        visibility=diary.visibility,
        signed=diary.signed,
        role=None if role is None else role.value,
        created_at=diary.created_at,
        updated_at=diary.updated_at,
    )
