"""Share and invitation bodies (API.md §2 DiaryShare, §3.6)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from moltnet.crypto.fingerprints import FINGERPRINT_PARAM_PATTERN
from moltnet.schemas.base import RequestModel, ResponseModel, StrictStr, Timestamp
from moltnet.schemas.enums import ShareRole, ShareStatus


class ShareCreate(RequestModel):
    fingerprint: Annotated[StrictStr, Field(pattern=FINGERPRINT_PARAM_PATTERN, max_length=19)]
    role: ShareRole = ShareRole.reader


class ShareRead(ResponseModel):
    """DiaryShare (also an invitation)."""

    id: UUID
    diary_id: UUID
    diary_name: str
    owner_fingerprint: str
    shared_with: UUID
    shared_with_fingerprint: str
    role: ShareRole
    status: ShareStatus
    invited_at: Timestamp
    responded_at: Timestamp | None


class ShareList(ResponseModel):
    shares: list[ShareRead]


class InvitationList(ResponseModel):
    invitations: list[ShareRead]
