"""Typed exceptions for everything the API can answer besides success.

Problems (RFC 9457, API.md §1.6) become :class:`MoltnetProblem` or its per-status
subclass; the token endpoint's RFC 6749 errors become :class:`OAuth2Error`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

PROBLEM_MEDIA_TYPE = "application/problem+json"


class MoltnetError(Exception):
    """Base of every error the client raises."""


class MoltnetConnectionError(MoltnetError):
    """The server could not be reached (refused, DNS, timeout)."""


class UnexpectedResponse(MoltnetError):
    """A response that is neither the documented success nor a problem document."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"unexpected HTTP {status} response: {body[:200]!r}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class FieldProblem:
    """One member of a ``validation-failed`` problem's ``errors``."""

    field: str
    message: str


class MoltnetProblem(MoltnetError):
    """An ``application/problem+json`` answer; ``slug`` names the problem type."""

    by_status: ClassVar[dict[int, type[MoltnetProblem]]] = {}
    status_code: ClassVar[int | None] = None

    def __init__(
        self,
        *,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        instance: str | None = None,
        errors: list[FieldProblem] | None = None,
        extensions: dict[str, Any] | None = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        super().__init__(f"{status} {slug}: {detail or title}")
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.instance = instance
        self.errors = errors or []
        self.extensions = extensions or {}
        self.headers = headers or httpx.Headers()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.status_code is not None:
            MoltnetProblem.by_status[cls.status_code] = cls

    @property
    def code(self) -> str:
        return self.slug.replace("-", "_").upper()

    @property
    def required_scopes(self) -> list[str]:
        return [str(scope) for scope in self.extensions.get("requiredScopes", [])]

    @property
    def retry_after(self) -> int | None:
        value = self.extensions.get("retryAfter")
        return value if isinstance(value, int) else None

    @property
    def request_id(self) -> str | None:
        value = self.extensions.get("requestId")
        return value if isinstance(value, str) else None


class BadRequest(MoltnetProblem):
    """400: validation-failed, invalid-challenge, invalid-signature, invalid-recovery-code."""

    status_code = 400


class Unauthorized(MoltnetProblem):
    status_code = 401


class Forbidden(MoltnetProblem):
    """403: forbidden, insufficient-scope, registration-failed."""

    status_code = 403


class NotFound(MoltnetProblem):
    status_code = 404


class Conflict(MoltnetProblem):
    """409: conflict, immutable, signing-request-expired, signing-request-already-completed."""

    status_code = 409


class TooManyRequests(MoltnetProblem):
    """429: rate-limit-exceeded, voucher-limit, signing-request-limit-reached, ..."""

    status_code = 429


class ServerError(MoltnetProblem):
    """5xx problems (internal-server-error, upstream-error, service-unavailable)."""


class OAuth2Error(MoltnetError):
    """An RFC 6749 error from ``POST /oauth2/token`` (``invalid_client``, ``invalid_scope``...)."""

    def __init__(self, *, status: int, error: str, description: str | None = None) -> None:
        super().__init__(f"{status} {error}: {description or 'token request refused'}")
        self.status = status
        self.error = error
        self.description = description


def _slug_of(problem_type: object) -> str:
    text = str(problem_type or "")
    return text.rstrip("/").rsplit("/", 1)[-1] or "about:blank"


def problem_from_response(response: httpx.Response) -> MoltnetError:
    """The exception for a failed response: a typed problem, or UnexpectedResponse."""
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or (media_type != PROBLEM_MEDIA_TYPE and "type" not in body):
        return UnexpectedResponse(response.status_code, response.text)
    known = {"type", "title", "status", "code", "detail", "instance", "errors"}
    errors = [
        FieldProblem(field=str(item.get("field", "")), message=str(item.get("message", "")))
        for item in body.get("errors") or []
        if isinstance(item, dict)
    ]
    status = body.get("status")
    status = status if isinstance(status, int) else response.status_code
    cls = MoltnetProblem.by_status.get(status, ServerError if status >= 500 else MoltnetProblem)
    detail = body.get("detail")
    instance = body.get("instance")
    return cls(
        status=status,
        slug=_slug_of(body.get("type")),
        title=str(body.get("title") or response.reason_phrase),
        detail=detail if isinstance(detail, str) else None,
        instance=instance if isinstance(instance, str) else None,
        errors=errors,
        extensions={key: value for key, value in body.items() if key not in known},
        headers=response.headers,
    )


def oauth2_error_from_response(response: httpx.Response) -> MoltnetError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        description = body.get("error_description")
        return OAuth2Error(
            status=response.status_code,
            error=body["error"],
            description=description if isinstance(description, str) else None,
        )
    return problem_from_response(response)
