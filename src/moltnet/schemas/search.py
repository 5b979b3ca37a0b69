"""Hybrid search over diary entries (API.md §3.7, SearchRequest / SearchResponse)."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import AfterValidator, Field, Strict

from moltnet.schemas.base import RequestModel, ResponseModel, StrictBool, StrictInt, StrictStr
from moltnet.schemas.entries import MAX_TAGS, Author, EntryRead, Tag, entry_fields
from moltnet.schemas.enums import EntryType

MAX_QUERY_CHARS = 500
DEFAULT_SEARCH_LIMIT = 10
MAX_SEARCH_LIMIT = 100
# API.md says only "offset >= 0"; an offset past a bigint would crash the SQL, and no
# client pages a million results deep, so larger offsets are a 400 instead of a 500.
MAX_SEARCH_OFFSET = 1_000_000


class SearchType(enum.StrEnum):
    hybrid = "hybrid"
    fulltext = "fulltext"
    filter = "filter"


def _has_visible_character(query: str) -> str:
    if not query.strip():
        raise ValueError("the query must contain a non-space character")
    return query


def _unique_types(types: list[EntryType]) -> list[EntryType]:
    if len(set(types)) != len(types):
        raise ValueError("entryTypes must be unique")
    return types


Query = Annotated[
    StrictStr,
    Field(min_length=1, max_length=MAX_QUERY_CHARS),
    AfterValidator(_has_visible_character),
]
TagFilter = Annotated[list[Tag], Field(min_length=1, max_length=MAX_TAGS)]
Weight = Annotated[float, Strict(), Field(ge=0, le=1, allow_inf_nan=False)]


class SearchRequest(RequestModel):
    diary_id: UUID | None = None
    query: Query | None = None
    tags: TagFilter | None = None
    exclude_tags: TagFilter | None = None
    entry_types: (
        Annotated[list[EntryType], Field(min_length=1, max_length=6), AfterValidator(_unique_types)]
        | None
    ) = None
    limit: Annotated[StrictInt, Field(ge=1, le=MAX_SEARCH_LIMIT)] = DEFAULT_SEARCH_LIMIT
    offset: Annotated[StrictInt, Field(ge=0, le=MAX_SEARCH_OFFSET)] = 0
    w_relevance: Weight = 1.0
    w_recency: Weight = 0.0
    w_importance: Weight = 0.0
    exclude_superseded: StrictBool = False
    include_shared: StrictBool = False


class SearchResult(EntryRead):
    score: float

    @classmethod
    def scored(cls, entry: Any, author: Any, score: float) -> Self:
        fields = entry_fields(entry) | {"author": Author.model_validate(author), "score": score}
        return cls.model_validate(fields)


class SearchResponse(ResponseModel):
    results: list[SearchResult]
    total: int
    search_type: SearchType
