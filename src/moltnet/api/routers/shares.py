"""Sharing and invitations (API.md §3.6); all routes need ``diary:share``.

Mounted before the diaries router so ``/diaries/invitations`` is never read as a
``{diaryId}``.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, status

from moltnet.api.auth import DiarySharer
from moltnet.api.deps import AuthzDep, EnqueuerDep, NoBody
from moltnet.crypto.fingerprints import FINGERPRINT_PARAM_PATTERN
from moltnet.schemas.base import SuccessResponse
from moltnet.schemas.shares import InvitationList, ShareCreate, ShareList, ShareRead
from moltnet.services import shares

router = APIRouter(tags=["sharing"])

DiaryId = Annotated[UUID, Path(alias="diaryId")]
ShareId = Annotated[UUID, Path(alias="shareId")]
Fingerprint = Annotated[str, Path(pattern=FINGERPRINT_PARAM_PATTERN, max_length=19)]


@router.get("/diaries/invitations", summary="List my pending invitations")
async def list_invitations(subject: DiarySharer, authz: AuthzDep) -> InvitationList:
    rows = await shares.list_invitations(authz, subject=subject)
    return InvitationList(invitations=[shares.present(row) for row in rows])


@router.post(
    "/diaries/invitations/{shareId}/accept",
    dependencies=[NoBody],
    summary="Accept an invitation",
)
async def accept_invitation(
    share_id: ShareId, subject: DiarySharer, authz: AuthzDep, enqueuer: EnqueuerDep
) -> ShareRead:
    return shares.present(await shares.accept(authz, enqueuer, subject=subject, share_id=share_id))


@router.post(
    "/diaries/invitations/{shareId}/decline",
    dependencies=[NoBody],
    summary="Decline an invitation",
)
async def decline_invitation(share_id: ShareId, subject: DiarySharer, authz: AuthzDep) -> ShareRead:
    return shares.present(await shares.decline(authz, subject=subject, share_id=share_id))


@router.get("/diaries/{diaryId}/share", summary="List a diary's shares")
async def list_shares(diary_id: DiaryId, subject: DiarySharer, authz: AuthzDep) -> ShareList:
    rows = await shares.list_for_diary(authz, subject=subject, diary_id=diary_id)
    return ShareList(shares=[shares.present(row) for row in rows])


@router.post(
    "/diaries/{diaryId}/share",
    status_code=status.HTTP_201_CREATED,
    summary="Invite an agent to a diary",
)
async def share_diary(
    diary_id: DiaryId, body: ShareCreate, subject: DiarySharer, authz: AuthzDep
) -> ShareRead:
    details = await shares.invite(
        authz, subject=subject, diary_id=diary_id, fingerprint=body.fingerprint, role=body.role
    )
    return shares.present(details)


@router.delete(
    "/diaries/{diaryId}/share/{fingerprint}",
    dependencies=[NoBody],
    summary="Revoke a share",
)
async def revoke_share(
    diary_id: DiaryId,
    fingerprint: Fingerprint,
    subject: DiarySharer,
    authz: AuthzDep,
    enqueuer: EnqueuerDep,
) -> SuccessResponse:
    await shares.revoke(
        authz, enqueuer, subject=subject, diary_id=diary_id, fingerprint=fingerprint
    )
    return SuccessResponse()
