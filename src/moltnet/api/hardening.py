"""HTTP hardening beyond the security headers: CORS allow-list, trusted hosts, timeouts.

All pure ASGI (never ``BaseHTTPMiddleware``). The security headers themselves (HSTS,
nosniff, frame deny, CSP) are set by ``api/middleware.ResponseHeadersMiddleware``.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import structlog
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moltnet.api.middleware import request_id_of
from moltnet.api.problems import problem_response

logger = structlog.get_logger(__name__)

CORS_METHODS = ("GET", "POST", "PATCH", "DELETE", "OPTIONS")
CORS_REQUEST_HEADERS = ("Authorization", "Content-Type", "X-Request-Id")
CORS_EXPOSED_HEADERS = (
    "X-Request-Id",
    "Location",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "WWW-Authenticate",
)


class HardeningConfigError(ValueError):
    """A production deployment is missing a required hardening setting."""


def check_cors_origins(origins: Sequence[str], *, production: bool) -> None:
    """Production needs an explicit allow-list; ``*`` would let any site call us with tokens."""
    if production and not origins:
        raise HardeningConfigError(
            "CORS_ORIGINS is required in production: set a comma-separated list of the "
            "browser origins allowed to call the API (e.g. https://app.example.com)"
        )
    if production and "*" in origins:
        raise HardeningConfigError("CORS_ORIGINS must not contain '*' in production")


def install_cors(app: Starlette, origins: Sequence[str]) -> None:
    """Starlette's ``CORSMiddleware`` for the allow-list: bearer tokens, never cookies."""
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=list(CORS_METHODS),
        allow_headers=list(CORS_REQUEST_HEADERS),
        expose_headers=list(CORS_EXPOSED_HEADERS),
        allow_credentials=False,  # auth is a bearer header, never a cookie
        max_age=600,
    )


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """``example.com`` matches exactly; ``*.example.com`` matches any subdomain."""
    for pattern in allowed:
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


class TrustedHostsMiddleware:
    """Refuse requests whose ``Host`` is not ours (400 problem), against host-header attacks.

    Like Starlette's ``TrustedHostMiddleware``, but the refusal is a problem document.
    Health checks are exempt: platform probes (Fly, Docker) call by address.
    """

    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allowed_hosts = list(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/health"):
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "").split(":", 1)[0].lower()
        if host_allowed(host, self.allowed_hosts):
            await self.app(scope, receive, send)
            return
        response = problem_response(
            "validation-failed",
            detail="the Host header names a host this server does not serve",
            instance=scope["path"],
            extensions={"errors": [{"field": "header.host", "message": "untrusted host"}]},
        )
        await response(scope, receive, send)


class RequestTimeoutMiddleware:
    """Cancel a request that runs longer than ``timeout_seconds`` and answer 503.

    Cancelling unwinds the request's dependencies, so its transaction rolls back. If
    the response had already started, the connection is closed instead: a second
    status line cannot be sent.
    """

    def __init__(self, app: ASGIApp, *, timeout_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with anyio.move_on_after(self.timeout_seconds) as cancel_scope:
            await self.app(scope, receive, send_tracking)
        if not cancel_scope.cancelled_caught:
            return
        logger.warning(
            "request timed out", path=scope["path"], timeout_seconds=self.timeout_seconds
        )
        if started:
            return  # headers are out: ending here closes the response short
        response = problem_response(
            "service-unavailable",
            detail=f"the request did not complete within {self.timeout_seconds:g} s",
            instance=scope["path"],
            extensions={"requestId": request_id} if (request_id := request_id_of(scope)) else None,
            headers={"Retry-After": "1"},
        )
        await response(scope, receive, send)
