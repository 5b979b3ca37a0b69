from __future__ import annotations

from pydantic import Field

from moltnet.schemas.base import ResponseModel


class FieldError(ResponseModel):
    field: str
    message: str


class Problem(ResponseModel):
    """RFC 9457 problem document (extensions vary by slug)."""

    type: str = Field(examples=["/problems/not-found"])
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    required_scopes: list[str] | None = None
    retry_after: int | None = None
    request_id: str | None = None


class ProblemTypeRead(ResponseModel):
    type: str
    title: str
    status: int
    code: str
    description: str
    common_causes: list[str]
