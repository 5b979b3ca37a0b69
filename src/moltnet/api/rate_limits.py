"""Per-bucket rate limits (API.md §1.8), as pure ASGI middleware.

It sits inside the body-size check and before routing, so the order of checks is
413 → 429 → 401. The bearer token is resolved here, before counting, so an agent is
keyed by its identity (two agents behind one NAT never share a bucket) and the
resolved subject is left in the request state for ``api/auth.py`` to reuse. A
request without a valid token is keyed by its client address.

Windows are fixed 60-second windows of the ``limits`` library; its storage is
in-process by default (``memory://``), or shared (``redis://…``) when several
machines serve the API.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moltnet.api.problems import problem_response
from moltnet.errors import DomainError
from moltnet.schemas.auth import AuthSubject
from moltnet.services.authentication import TokenAuthenticator

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a URL path, not a secret

logger = structlog.get_logger(__name__)

#: The key ``api/auth.py`` reads the resolved subject from.
SUBJECT_KEY = "moltnet.subject"
WINDOW_SECONDS = 60
UNCOUNTED_PREFIXES = ("/health", "/problems", "/hooks/", "/docs", "/redoc")
UNCOUNTED_PATHS = frozenset({"/openapi.json"})


@dataclass(frozen=True)
class RouteBucket:
    name: str
    method: str
    pattern: re.Pattern[str]


#: Routes with their own bucket; they count there instead of in a global bucket.
ROUTE_BUCKETS = (
    RouteBucket("embedding", "POST", re.compile(r"^/diaries/search/?$")),
    RouteBucket("embedding", "POST", re.compile(r"^/diaries/[^/]+/compile/?$")),
    RouteBucket("vouch", "POST", re.compile(r"^/vouch/?$")),
    RouteBucket("signing", "POST", re.compile(r"^/crypto/signing-requests/?$")),
    RouteBucket("recovery", "POST", re.compile(r"^/recovery/(challenge|verify|complete)/?$")),
    RouteBucket("public_verify", "POST", re.compile(r"^/crypto/verify/?$")),
    RouteBucket("public_verify", "POST", re.compile(r"^/agents/[^/]+/verify/?$")),
    RouteBucket("public_search", "GET", re.compile(r"^/public/feed/search/?$")),
    RouteBucket("registration", "POST", re.compile(r"^/auth/register/?$")),
)


@dataclass(frozen=True)
class RateLimitPolicy:
    """Requests per 60-second window for each bucket; 0 disables that bucket."""

    global_auth: int = 100
    global_anon: int = 30
    embedding: int = 20
    vouch: int = 10
    signing: int = 5
    recovery: int = 5
    public_verify: int = 10
    public_search: int = 15
    registration: int = 5

    def limit_of(self, bucket: str) -> int:
        value: int = getattr(self, bucket)
        return value


def is_counted(path: str) -> bool:
    return path not in UNCOUNTED_PATHS and not path.startswith(UNCOUNTED_PREFIXES)


def bucket_for(method: str, path: str, *, authenticated: bool) -> str:
    for bucket in ROUTE_BUCKETS:
        if bucket.method == method and bucket.pattern.match(path):
            return bucket.name
    return "global_auth" if authenticated else "global_anon"


def client_address(scope: Scope, trust_proxy: int) -> str:
    """The socket peer, or the address ``trust_proxy`` hops from the right of X-Forwarded-For.

    Each trusted proxy appends the address it received the request from, so the entry
    ``trust_proxy`` places from the right was written by our outermost proxy: entries
    further left are whatever the client sent and are never trusted.
    """
    peer = scope.get("client")
    fallback = peer[0] if peer else "unknown"
    if trust_proxy <= 0:
        return fallback
    forwarded = ",".join(Headers(scope=scope).getlist("x-forwarded-for"))
    hops = [item.strip() for item in forwarded.split(",") if item.strip()]
    if not hops:
        return fallback
    return hops[max(len(hops) - trust_proxy, 0)]


def bearer_token(scope: Scope) -> str | None:
    """The bearer token, if the request carries a well-formed Authorization header."""
    authorization = Headers(scope=scope).get("authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class RateLimitMiddleware:
    """Count each request in its bucket; answer 429 when the bucket is exhausted."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        policy: RateLimitPolicy,
        storage_uri: str = "memory://",
        trust_proxy: int = 0,
    ) -> None:
        self.app = app
        self.policy = policy
        self.trust_proxy = trust_proxy
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        self.limiter = FixedWindowRateLimiter(storage_from_string(uri))
        self.items: dict[str, RateLimitItem] = {}

    def _item(self, bucket: str) -> RateLimitItem | None:
        limit = self.policy.limit_of(bucket)
        if limit <= 0:
            return None
        item = self.items.get(bucket)
        if item is None:
            item = self.items[bucket] = RateLimitItemPerMinute(limit)
        return item

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_counted(scope["path"]):
            await self.app(scope, receive, send)
            return
        subject = await self._resolve_subject(scope)
        bucket = bucket_for(scope["method"], scope["path"], authenticated=subject is not None)
        item = self._item(bucket)
        if item is None:
            await self.app(scope, receive, send)
            return
        key = (
            f"identity:{subject.identity_id}"
            if subject is not None
            else f"ip:{client_address(scope, self.trust_proxy)}"
        )
        allowed = await self.limiter.hit(item, bucket, key)
        stats = await self.limiter.get_window_stats(item, bucket, key)
        reset = max(math.ceil(stats.reset_time - time.time()), 0)
        headers = {
            "RateLimit-Limit": str(item.amount),
            "RateLimit-Remaining": str(max(stats.remaining, 0)),
            "RateLimit-Reset": str(reset),
        }
        if not allowed:
            retry_after = max(reset, 1)
            logger.info("rate limited", bucket=bucket, key=key)
            detail = (
                f"too many requests for the {bucket.replace('_', ' ')} limit; "
                f"retry in {retry_after} s"
            )
            limited_headers = {**headers, "Retry-After": str(retry_after)}
            response: Response
            if scope["path"] == TOKEN_PATH:  # the token endpoint speaks RFC 6749 only
                response = JSONResponse(
                    {"error": "temporarily_unavailable", "error_description": detail},
                    status_code=429,
                    headers={**limited_headers, "Cache-Control": "no-store"},
                )
            else:
                response = problem_response(
                    "rate-limit-exceeded",
                    detail=detail,
                    instance=scope["path"],
                    extensions={"retryAfter": retry_after},
                    headers=limited_headers,
                )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in headers.items():
                    response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _resolve_subject(self, scope: Scope) -> AuthSubject | None:
        """Authenticate the bearer token now; a bad token counts as anonymous (401 comes later)."""
        token = bearer_token(scope)
        state = scope.get("state")
        if token is None or state is None:
            return None
        authenticator: TokenAuthenticator | None = state.get("authenticator")
        if authenticator is None:
            return None
        try:
            subject = await authenticator.authenticate(token)
        except DomainError:
            return None  # invalid token or backend trouble: the auth dependency reports it
        state[SUBJECT_KEY] = subject
        return subject
