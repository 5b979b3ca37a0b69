"""Diaries (API.md §3.5)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response, status

from moltnet.api.auth import DiaryDeleter, DiaryReader, DiaryWriter, OptionalDiaryReader
from moltnet.api.deps import AuthzDep, EnqueuerDep, NoBody
from moltnet.api.pagination import Limit, Offset
from moltnet.schemas.base import Page, SuccessResponse
from moltnet.schemas.diaries import DiaryCreate, DiaryRead, DiaryUpdate
from moltnet.services import diaries
from moltnet.services.authz import Role

router = APIRouter(tags=["diaries"])

DiaryId = Annotated[UUID, Path(alias="diaryId")]


@router.post("/diaries", status_code=status.HTTP_201_CREATED, summary="Create a diary")
async def create_diary(
    body: DiaryCreate,
    subject: DiaryWriter,
    authz: AuthzDep,
    enqueuer: EnqueuerDep,
    response: Response,
) -> DiaryRead:
    diary = await diaries.create(
        authz.session,
        enqueuer,
        owner_id=subject.identity_id,
        name=body.name,
        visibility=body.visibility,
    )
    response.headers["Location"] = f"/diaries/{diary.id}"
    return diaries.present(diary, Role.owner)


@router.get("/diaries", summary="List my diaries and the diaries shared with me")
async def list_diaries(
    subject: DiaryReader,
    authz: AuthzDep,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[DiaryRead]:
    rows, total = await diaries.list_accessible(authz, subject=subject, limit=limit, offset=offset)
    return Page[DiaryRead](
        items=[diaries.present(diary, role) for diary, role in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/diaries/{diaryId}", summary="Get a diary")
async def get_diary(diary_id: DiaryId, subject: OptionalDiaryReader, authz: AuthzDep) -> DiaryRead:
    diary, role = await diaries.get(authz, subject=subject, diary_id=diary_id)
    return diaries.present(diary, role)


@router.patch("/diaries/{diaryId}", summary="Rename a diary or change its visibility")
async def update_diary(
    diary_id: DiaryId, body: DiaryUpdate, subject: DiaryWriter, authz: AuthzDep
) -> DiaryRead:
    diary = await diaries.update(
        authz,
        subject=subject,
        diary_id=diary_id,
        name=body.name,
        visibility=body.visibility,
    )
    return diaries.present(diary, Role.owner)


@router.delete(
    "/diaries/{diaryId}", dependencies=[NoBody], summary="Delete a diary with its entries"
)
async def delete_diary(
    diary_id: DiaryId, subject: DiaryDeleter, authz: AuthzDep, enqueuer: EnqueuerDep
) -> SuccessResponse:
    await diaries.delete(authz, enqueuer, subject=subject, diary_id=diary_id)
    return SuccessResponse()
