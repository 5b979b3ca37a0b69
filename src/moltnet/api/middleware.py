"""Pure ASGI middleware wrapped around every HTTP request.

Never ``BaseHTTPMiddleware``: it buffers streaming responses and breaks contextvars.
"""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import uuid4

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moltnet.api.problems import problem_response
from moltnet.errors import DomainError, UnsupportedMediaType, ValidationFailed

logger = structlog.get_logger(__name__)

MAX_BODY_BYTES = 1_048_576
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Routes whose bodies are not ours to type-check as JSON.
NON_JSON_PATHS = ("/oauth2/token", "/mcp")
# The JSON text the body is replaced with when it was rejected: it fails validation of
# every body model, so FastAPI still authenticates first (API.md §1.5 order of checks)
# and the validation handler then reports the deferred problem.
REJECTED_BODY = b'"moltnet: rejected body"'
BODY_PROBLEM_KEY = "moltnet.body_problem"
REQUEST_ID_KEY = "moltnet.request_id"


def clean_request_id(value: str | None) -> str | None:
    if value and REQUEST_ID_PATTERN.fullmatch(value):
        return value
    return None


def request_id_of(scope: Scope) -> str | None:
    value = scope.get("state", {}).get(REQUEST_ID_KEY)
    return value if isinstance(value, str) else None


def deferred_body_problem(scope: Scope) -> DomainError | None:
    problem = scope.get("state", {}).get(BODY_PROBLEM_KEY)
    return problem if isinstance(problem, DomainError) else None


class RequestIdMiddleware:
    """Echo or mint ``X-Request-Id`` and bind it to every log line of the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = clean_request_id(Headers(scope=scope).get("x-request-id")) or uuid4().hex
        # A per-request copy of the lifespan state: servers may hand every request the
        # same dict, and what we note here (request id, deferred body problem) is ours.
        scope["state"] = {**scope.get("state", {}), REQUEST_ID_KEY: request_id}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)


class JsonBodyMiddleware:
    """Enforce the 1 MiB limit, the JSON media type and well-formed, clean JSON text.

    The size limit answers at once (it is first in the order of checks). Media-type and
    syntax problems are deferred (see REJECTED_BODY) so authentication still runs first.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        path: str = scope["path"]
        if body and not path.startswith(NON_JSON_PATHS):
            problem = check_json_body(headers.get("content-type"), bytes(body))
            if problem is not None:
                scope.setdefault("state", {})[BODY_PROBLEM_KEY] = problem
                body = bytearray(REJECTED_BODY)
                scope["headers"] = [
                    (key, value)
                    for key, value in scope["headers"]
                    if key not in (b"content-type", b"content-length")
                ] + [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]

        await self.app(scope, _replay(bytes(body), receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            "payload-too-large",
            detail=f"the request body exceeds {self.max_body_bytes} bytes",
            instance=scope["path"],
            headers={"connection": "close"},
        )
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def check_json_body(content_type: str | None, body: bytes) -> DomainError | None:
    """The problem with a request body, or None when it is clean JSON."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        return UnsupportedMediaType(
            f"the request body must be application/json, not {media_type or 'untyped'}"
        )
    try:
        text = body.decode("utf-8")
        document = json.loads(text)
    except UnicodeDecodeError:
        return ValidationFailed("the body is not valid UTF-8", field="body")
    except RecursionError:
        return ValidationFailed("the body nests too deeply", field="body")
    except ValueError as error:
        return ValidationFailed(f"the body is not valid JSON: {error}", field="body")
    dirty = _find_unclean_string(document, "body")
    if dirty is not None:
        field, reason = dirty
        return ValidationFailed(f"{field}: {reason}", field=field, message=reason)
    return None


def _find_unclean_string(value: Any, path: str) -> tuple[str, str] | None:
    """Strings must be valid Unicode without U+0000 (API.md §1.1)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, str):
            reason = _string_problem(current)
            if reason:
                return where, reason
        elif isinstance(current, dict):
            for key, item in current.items():
                reason = _string_problem(key)
                if reason:
                    return f"{where}.{key.encode('unicode_escape').decode()}", reason
                stack.append((item, f"{where}.{key}"))
        elif isinstance(current, list):
            stack.extend((item, f"{where}.{index}") for index, item in enumerate(current))
    return None


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain the NUL character (U+0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (lone surrogate)"
    return None


class ResponseHeadersMiddleware:
    """Security headers on every response; ``Cache-Control: no-store`` unless a route set one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("x-frame-options", "DENY")
                headers.setdefault("referrer-policy", "no-referrer")
                headers.setdefault(
                    "strict-transport-security", "max-age=63072000; includeSubDomains"
                )
                if path.startswith("/docs") or path.startswith("/redoc"):
                    # Swagger UI loads its assets from a CDN.
                    headers.setdefault(
                        "content-security-policy",
                        "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
                        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
                        "img-src 'self' data: https://fastapi.tiangolo.com; frame-ancestors 'none'",
                    )
                else:
                    headers.setdefault(
                        "content-security-policy", "default-src 'none'; frame-ancestors 'none'"
                    )
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
