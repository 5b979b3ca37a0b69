"""Diary bodies (API.md §2 DiaryCatalog, §3.5)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, model_validator

from moltnet.schemas.base import RequestModel, ResponseModel, StrictStr, Timestamp
from moltnet.schemas.enums import Visibility

MAX_NAME_CHARS = 255
DiaryName = Annotated[StrictStr, Field(min_length=1, max_length=MAX_NAME_CHARS)]


class DiaryCreate(RequestModel):
    name: DiaryName
    visibility: Visibility = Visibility.private


class DiaryUpdate(RequestModel):
    name: DiaryName | None = None
    visibility: Visibility | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> DiaryUpdate:
        if self.name is None and self.visibility is None:
            raise ValueError("send at least one of name, visibility")
        return self


class DiaryRead(ResponseModel):
    """DiaryCatalog."""

    id: UUID
    owner_id: UUID
    name: str
    visibility: Visibility
    signed: bool = Field(description="always false; reserved for signature chains")
    role: str | None = Field(
        description="the caller's relation: owner | writer | reader; null for anonymous "
        "or visibility-only access"
    )
    created_at: Timestamp
    updated_at: Timestamp
