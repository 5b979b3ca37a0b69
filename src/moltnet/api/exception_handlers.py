"""One renderer for every error: domain errors, validation, unknown routes, crashes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from moltnet.api.middleware import deferred_body_problem, request_id_of
from moltnet.api.problems import problem_response, render_domain_error
from moltnet.errors import DomainError

logger = structlog.get_logger(__name__)

MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "field required",
    "json_invalid": "the body is not valid JSON",
}


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """FastAPI error locations as API.md spells them: ``body.tags.3``, ``query.limit``."""
    rendered: list[dict[str, str]] = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        kind = error.get("type", "")
        if kind == "json_invalid" or location[1:2] == ["__root__"]:
            field = "body"
        else:
            field = ".".join(location) or "body"
        if kind == "model_attributes_type" and location == ["body"]:
            message = "the body must be a JSON object"
        else:
            message = MESSAGES.get(kind, str(error.get("msg", "invalid value")))
            if message.startswith("Value error, "):
                message = message.removeprefix("Value error, ")
        rendered.append({"field": field, "message": message})
    return rendered


async def handle_domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)  # noqa: S101 - registered for DomainError only
    if error.status >= 500:
        logger.error("request failed", slug=error.slug, detail=error.detail)
    return render_domain_error(
        error, instance=request.url.path, request_id=request_id_of(request.scope)
    )


async def handle_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)  # noqa: S101 - registered for it only
    deferred = deferred_body_problem(request.scope)
    if deferred is not None:
        return render_domain_error(deferred, instance=request.url.path, request_id=None)
    errors = field_errors(error.errors())
    summary = "; ".join(f"{item['field']}: {item['message']}" for item in errors[:3])
    return problem_response(
        "validation-failed",
        detail=f"the request is invalid: {summary}",
        instance=request.url.path,
        extensions={"errors": errors},
    )


async def handle_http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)  # noqa: S101 - registered for it only
    path = request.url.path
    if error.status_code == 404:
        return problem_response("not-found", detail=f"no route matches {path}", instance=path)
    if error.status_code == 405:
        allow = (error.headers or {}).get("Allow") or (error.headers or {}).get("allow", "")
        return problem_response(
            "method-not-allowed",
            detail=f"{request.method} is not allowed here",
            instance=path,
            headers={"Allow": allow} if allow else None,
        )
    if error.status_code == 400:
        return problem_response("validation-failed", detail=str(error.detail), instance=path)
    return JSONResponse(
        {"title": "Error", "status": error.status_code, "detail": str(error.detail)},
        status_code=error.status_code,
        media_type="application/problem+json",
        headers=error.headers,
    )


async def handle_unexpected(request: Request, error: Exception) -> Response:
    request_id = request_id_of(request.scope)
    logger.exception("unhandled error", path=request.url.path, error_type=type(error).__name__)
    return problem_response(
        "internal-server-error",
        detail="an unexpected error occurred; quote the request id when reporting it",
        instance=request.url.path,
        extensions={"requestId": request_id} if request_id else None,
    )


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(Exception, handle_unexpected)
