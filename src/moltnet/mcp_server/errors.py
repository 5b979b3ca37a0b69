"""Domain errors as MCP tool errors: the same problem document as REST, inside a tool result.

A failed tool call is a successful JSON-RPC exchange whose result has ``isError: true``
(the model reads it and can correct itself); the text starts with the problem slug
(``not-found: diary not found``) and ``structuredContent`` carries the problem body
that REST would have answered with, so a program can branch on ``code``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import mcp_types as types
import structlog
from pydantic import ValidationError

from moltnet.errors import PROBLEM_TYPES, DomainError

logger = structlog.get_logger(__name__)

MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "field required",
}


def problem(
    slug: str, *, detail: str | None, instance: str, extensions: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The RFC 9457 body REST would send (API.md §1.6); ``instance`` names the tool."""
    problem_type = PROBLEM_TYPES[slug]
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": problem_type.title,
        "status": problem_type.status,
        "code": problem_type.code,
    }
    if detail is not None:
        body["detail"] = detail
    body["instance"] = instance
    if extensions:
        body.update(extensions)
    return body


def error_result(body: dict[str, Any]) -> types.CallToolResult:
    slug = str(body["type"]).rsplit("/", 1)[-1]
    text = f"{slug}: {body.get('detail', body['title'])}"
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        text += " (" + "; ".join(f"{item['field']}: {item['message']}" for item in errors) + ")"
    return types.CallToolResult(
        content=[
            types.TextContent(type="text", text=text),
            types.TextContent(type="text", text=json.dumps(body, ensure_ascii=False)),
        ],
        structured_content=body,
        is_error=True,
    )


def domain_error_result(error: DomainError, *, tool: str) -> types.CallToolResult:
    if error.status >= 500:
        logger.error("mcp tool failed", tool=tool, slug=error.slug, detail=error.detail)
    return error_result(
        problem(
            error.slug,
            detail=error.detail or error.title,
            instance=f"mcp:{tool}",
            extensions=dict(error.extensions),
        )
    )


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic errors as ``[{field, message}]``; fields are the tool's parameter names."""
    rendered: list[dict[str, str]] = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        message = MESSAGES.get(error.get("type", ""), str(error.get("msg", "invalid value")))
        rendered.append(
            {
                "field": ".".join(location) or "arguments",
                "message": message.removeprefix("Value error, "),
            }
        )
    return rendered


def validation_error_result(error: ValidationError, *, tool: str) -> types.CallToolResult:
    return error_result(
        problem(
            "validation-failed",
            detail="the arguments do not match the tool's input schema",
            instance=f"mcp:{tool}",
            extensions={"errors": field_errors(error.errors(include_input=False))},
        )
    )


def internal_error_result(*, tool: str) -> types.CallToolResult:
    """A crash: logged with its traceback here, never shown to the caller."""
    logger.exception("mcp tool crashed", tool=tool)
    return error_result(
        problem(
            "internal-server-error",
            detail="the tool failed unexpectedly",
            instance=f"mcp:{tool}",
        )
    )
