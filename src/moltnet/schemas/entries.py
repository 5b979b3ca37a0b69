"""Diary entries: request bodies, the DiaryEntry shape and its verification (API.md §2, §3.7)."""

from __future__ import annotations

from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import AfterValidator, Field, model_validator

from moltnet.schemas.base import RequestModel, ResponseModel, StrictInt, StrictStr, Timestamp
from moltnet.schemas.enums import EntryType

MAX_CONTENT_CHARS = 100_000
MAX_PUBLIC_CONTENT_CHARS = 10_000
MAX_TITLE_CHARS = 255
MAX_TAGS = 20
MAX_TAG_CHARS = 50
MIN_IMPORTANCE = 1
MAX_IMPORTANCE = 10
DEFAULT_IMPORTANCE = 5
CID_REGEX = r"^bafkrei[a-z2-7]{52}$"


def _unique(tags: list[str]) -> list[str]:
    if len(set(tags)) != len(tags):
        raise ValueError("tags must be unique")
    return tags


Content = Annotated[StrictStr, Field(min_length=1, max_length=MAX_CONTENT_CHARS)]
Title = Annotated[StrictStr, Field(max_length=MAX_TITLE_CHARS)]
Tag = Annotated[StrictStr, Field(min_length=1, max_length=MAX_TAG_CHARS)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique)]
Importance = Annotated[StrictInt, Field(ge=MIN_IMPORTANCE, le=MAX_IMPORTANCE)]


def blank_title_to_none(title: str | None) -> str | None:
    """``""`` is stored as null (API.md §2)."""
    return title or None


class EntryCreate(RequestModel):
    content: Content
    title: Title | None = None
    tags: Tags = Field(default_factory=list)
    importance: Importance = DEFAULT_IMPORTANCE
    entry_type: EntryType = EntryType.semantic
    signing_request_id: UUID | None = None
    content_hash: Annotated[StrictStr, Field(pattern=CID_REGEX)] | None = None

    @model_validator(mode="after")
    def _hash_needs_request(self) -> Self:
        if self.content_hash is not None and self.signing_request_id is None:
            raise ValueError("contentHash is accepted only together with signingRequestId")
        return self


class EntryUpdate(RequestModel):
    """PATCH body: any of the fields, at least one; only ``title``/``supersededBy`` take null."""

    title: Title | None = None
    content: Content | None = None
    tags: Tags | None = None
    importance: Importance | None = None
    entry_type: EntryType | None = None
    superseded_by: UUID | None = None

    @model_validator(mode="after")
    def _at_least_one_and_no_null(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        for name in ("content", "tags", "importance", "entry_type"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class Author(ResponseModel):
    fingerprint: str
    public_key: str


class EntryRead(ResponseModel):
    """DiaryEntry: the vector and its model id are never returned."""

    id: UUID
    diary_id: UUID
    title: str | None
    content: str
    tags: list[str]
    entry_type: EntryType
    importance: int
    injection_risk: bool
    access_count: int
    last_accessed_at: Timestamp | None
    superseded_by: UUID | None
    content_hash: str
    content_signature: str | None
    signing_nonce: UUID | None
    author: Author
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, entry: Any, author: Any) -> Self:
        """From an entry row and its author's agent row (attributes, not dicts)."""
        return cls.model_validate(entry_fields(entry) | {"author": Author.model_validate(author)})


def entry_fields(entry: Any) -> dict[str, Any]:
    return {
        "id": entry.id,
        "diary_id": entry.diary_id,
        "title": entry.title,
        "content": entry.content,
        "tags": list(entry.tags or []),
        "entry_type": entry.entry_type,
        "importance": entry.importance,
        "injection_risk": entry.injection_risk,
        "access_count": entry.access_count,
        "last_accessed_at": entry.last_accessed_at,
        "superseded_by": entry.superseded_by,
        "content_hash": entry.content_hash,
        "content_signature": entry.content_signature,
        "signing_nonce": entry.signing_nonce,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }


class EntryVerification(ResponseModel):
    signed: bool
    hash_matches: bool
    signature_valid: bool
    valid: bool
    content_hash: str
    agent_fingerprint: str | None
