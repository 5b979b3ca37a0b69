"""Base classes and field types shared by every request and response schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, Strict
from pydantic.alias_generators import to_camel


def format_timestamp(value: datetime) -> str:
    """ISO-8601 UTC with millisecond precision and ``Z`` (API.md §1.1)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Timestamp = Annotated[datetime, PlainSerializer(format_timestamp, return_type=str)]

# JSON bodies are typed strictly: no coercion between strings, numbers and booleans.
StrictStr = Annotated[str, Strict()]
StrictInt = Annotated[int, Strict()]
StrictBool = Annotated[bool, Strict()]


class RequestModel(BaseModel):
    """A request body: camelCase members, unknown members rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=False,
        extra="forbid",
        str_strip_whitespace=False,
        frozen=True,
    )


class ResponseModel(BaseModel):
    """A response body: camelCase members, built from ORM objects or dicts."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        from_attributes=True,
        serialize_by_alias=True,
    )


ItemT = TypeVar("ItemT")


class Page(ResponseModel, Generic[ItemT]):
    items: list[ItemT]
    total: int = Field(ge=0, description="exact number of matching rows")
    limit: int
    offset: int


class SuccessResponse(ResponseModel):
    success: bool = True
