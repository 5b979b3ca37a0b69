"""Rendering of RFC 9457 problem documents: the one shape every error takes."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

from moltnet.errors import PROBLEM_TYPES, DomainError

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_uri(slug: str) -> str:
    return f"/problems/{slug}"


def problem_body(
    slug: str,
    *,
    detail: str | None,
    instance: str | None,
    extensions: Mapping[str, object] | None = None,
) -> dict[str, object]:
    problem = PROBLEM_TYPES[slug]
    body: dict[str, object] = {
        "type": problem_uri(slug),
        "title": problem.title,
        "status": problem.status,
        "code": problem.code,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if extensions:
        body.update(extensions)
    return body


def problem_response(
    slug: str,
    *,
    detail: str | None,
    instance: str | None,
    extensions: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(slug, detail=detail, instance=instance, extensions=extensions)
    return JSONResponse(
        body,
        status_code=PROBLEM_TYPES[slug].status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def render_domain_error(
    error: DomainError, *, instance: str, request_id: str | None
) -> JSONResponse:
    extensions = dict(error.extensions)
    if error.status >= 500 and request_id:
        extensions["requestId"] = request_id
    return problem_response(
        error.slug,
        detail=error.detail,
        instance=instance,
        extensions=extensions,
        headers=error.headers,
    )
