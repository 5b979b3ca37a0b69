"""Diary entries (API.md §3.7): canonical ``/entries/{id}`` routes and the nested diary forms."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response, status

from moltnet.api.auth import DiaryDeleter, DiaryWriter, OptionalDiaryReader
from moltnet.api.deps import AuthzDep, EmbedderDep, EnqueuerDep, NoBody
from moltnet.db.repositories.entries import AuthoredEntry, EntryFilters
from moltnet.embedding.protocol import Embedder
from moltnet.errors import ValidationFailed
from moltnet.schemas.auth import AuthSubject
from moltnet.schemas.base import Page, SuccessResponse
from moltnet.schemas.entries import (
    MAX_TAG_CHARS,
    MAX_TAGS,
    EntryCreate,
    EntryRead,
    EntryUpdate,
    EntryVerification,
)
from moltnet.schemas.enums import EntryType
from moltnet.services import entries
from moltnet.services.authz import Authz
from moltnet.workflows.enqueue import Enqueuer

router = APIRouter(tags=["entries"])

DiaryId = Annotated[UUID, Path(alias="diaryId")]
EntryId = Annotated[UUID, Path(alias="entryId")]
QueryBool = Literal["true", "false"]  # API.md §1.1: query booleans are true/false only


def present(found: AuthoredEntry) -> EntryRead:
    return EntryRead.of(found.entry, found.author)


def parse_tag_list(value: str | None, *, name: str) -> list[str]:
    """A CSV tag parameter: no empty items, at most 20, each 1-50 characters, no NUL."""
    if value is None:
        return []
    items = value.split(",")
    field = f"query.{name}"
    if any(not item for item in items):
        raise ValidationFailed(f"{name} must not contain empty items", field=field)
    if len(items) > MAX_TAGS:
        raise ValidationFailed(f"{name} takes at most {MAX_TAGS} tags", field=field)
    for item in items:
        if len(item) > MAX_TAG_CHARS or "\x00" in item:
            raise ValidationFailed(
                f"each tag in {name} has 1-{MAX_TAG_CHARS} characters and no NUL", field=field
            )
    return items


@router.post(
    "/diaries/{diaryId}/entries",
    status_code=status.HTTP_201_CREATED,
    summary="Create an entry (signed when signingRequestId is given)",
)
async def create_entry(
    diary_id: DiaryId,
    body: EntryCreate,
    subject: DiaryWriter,
    authz: AuthzDep,
    embedder: EmbedderDep,
    enqueuer: EnqueuerDep,
    response: Response,
) -> EntryRead:
    created = await entries.create(
        authz.session,
        authz=authz,
        embedder=embedder,
        enqueuer=enqueuer,
        subject=subject,
        diary_id=diary_id,
        data=body,
    )
    response.headers["Location"] = f"/entries/{created.entry.id}"
    return present(created)


@router.get("/diaries/{diaryId}/entries", summary="List a diary's entries, newest first")
async def list_entries(
    diary_id: DiaryId,
    subject: OptionalDiaryReader,
    authz: AuthzDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
    tags: Annotated[str | None, Query()] = None,
    exclude_tags: Annotated[str | None, Query(alias="excludeTags")] = None,
    entry_type: Annotated[EntryType | None, Query(alias="entryType")] = None,
    exclude_superseded: Annotated[QueryBool, Query(alias="excludeSuperseded")] = "false",
) -> Page[EntryRead]:
    filters = EntryFilters(
        tags=parse_tag_list(tags, name="tags"),
        exclude_tags=parse_tag_list(exclude_tags, name="excludeTags"),
        entry_types=[entry_type] if entry_type is not None else (),
        exclude_superseded=exclude_superseded == "true",
    )
    page = await entries.list_entries(
        authz.session,
        authz=authz,
        subject=subject,
        diary_id=diary_id,
        filters=filters,
        limit=limit,
        offset=offset,
    )
    return Page[EntryRead](
        items=[present(found) for found in page.items],
        total=page.total,
        limit=limit,
        offset=offset,
    )


@router.get("/entries/{entryId}", summary="Get an entry (counts as an access)")
async def get_entry(entry_id: EntryId, subject: OptionalDiaryReader, authz: AuthzDep) -> EntryRead:
    return await _get_entry(authz, subject, entry_id)


@router.get("/entries/{entryId}/verify", summary="Verify an entry's content hash and signature")
async def verify_entry(
    entry_id: EntryId, subject: OptionalDiaryReader, authz: AuthzDep
) -> EntryVerification:
    return await entries.verify(authz.session, authz=authz, subject=subject, entry_id=entry_id)


@router.patch("/entries/{entryId}", summary="Edit an entry")
async def update_entry(
    entry_id: EntryId,
    body: EntryUpdate,
    subject: DiaryWriter,
    authz: AuthzDep,
    embedder: EmbedderDep,
    enqueuer: EnqueuerDep,
) -> EntryRead:
    return await _update_entry(authz, embedder, enqueuer, subject, entry_id, body)


@router.delete("/entries/{entryId}", summary="Delete an entry")
async def delete_entry(
    entry_id: EntryId,
    subject: DiaryDeleter,
    _no_body: Annotated[None, NoBody],  # after the token: 401/403 come before a body 400
    authz: AuthzDep,
    enqueuer: EnqueuerDep,
) -> SuccessResponse:
    return await _delete_entry(authz, enqueuer, subject, entry_id)


@router.get("/diaries/{diaryId}/entries/{entryId}", summary="Get an entry of this diary")
async def get_diary_entry(
    diary_id: DiaryId, entry_id: EntryId, subject: OptionalDiaryReader, authz: AuthzDep
) -> EntryRead:
    return await _get_entry(authz, subject, entry_id, diary_id=diary_id)


@router.patch("/diaries/{diaryId}/entries/{entryId}", summary="Edit an entry of this diary")
async def update_diary_entry(
    diary_id: DiaryId,
    entry_id: EntryId,
    body: EntryUpdate,
    subject: DiaryWriter,
    authz: AuthzDep,
    embedder: EmbedderDep,
    enqueuer: EnqueuerDep,
) -> EntryRead:
    return await _update_entry(
        authz, embedder, enqueuer, subject, entry_id, body, diary_id=diary_id
    )


@router.delete("/diaries/{diaryId}/entries/{entryId}", summary="Delete an entry of this diary")
async def delete_diary_entry(
    diary_id: DiaryId,
    entry_id: EntryId,
    subject: DiaryDeleter,
    _no_body: Annotated[None, NoBody],
    authz: AuthzDep,
    enqueuer: EnqueuerDep,
) -> SuccessResponse:
    return await _delete_entry(authz, enqueuer, subject, entry_id, diary_id=diary_id)


# --- shared by the canonical /entries/{entryId} and the nested /diaries/{diaryId}/... forms.
# A ``diary_id`` makes an entry of another diary a 404, as if it did not exist.


async def _get_entry(
    authz: Authz, subject: AuthSubject | None, entry_id: UUID, *, diary_id: UUID | None = None
) -> EntryRead:
    found = await entries.get(
        authz.session, authz=authz, subject=subject, entry_id=entry_id, diary_id=diary_id
    )
    return present(found)


async def _update_entry(
    authz: Authz,
    embedder: Embedder,
    enqueuer: Enqueuer,
    subject: AuthSubject,
    entry_id: UUID,
    body: EntryUpdate,
    *,
    diary_id: UUID | None = None,
) -> EntryRead:
    found = await entries.update(
        authz.session,
        authz=authz,
        embedder=embedder,
        enqueuer=enqueuer,
        subject=subject,
        entry_id=entry_id,
        data=body,
        diary_id=diary_id,
    )
    return present(found)


async def _delete_entry(
    authz: Authz,
    enqueuer: Enqueuer,
    subject: AuthSubject,
    entry_id: UUID,
    *,
    diary_id: UUID | None = None,
) -> SuccessResponse:
    await entries.delete(
        authz.session,
        authz=authz,
        enqueuer=enqueuer,
        subject=subject,
        entry_id=entry_id,
        diary_id=diary_id,
    )
    return SuccessResponse()
