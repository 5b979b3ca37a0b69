"""Who is calling an MCP tool: a bearer token, or client credentials exchanged for one.

Over Streamable HTTP each tool call reads the headers of its own HTTP request:
``Authorization: Bearer <token>`` (verified by the same authenticator as REST), or
``X-Client-Id`` + ``X-Client-Secret``, exchanged for an access token through the OAuth2
backend and cached until shortly before it expires. Over stdio the credentials come
from the process environment (``moltnet mcp``). No credentials means anonymous, which
only the public tools accept; the scope checks are the REST routes' (API.md §1.3).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

import structlog

from moltnet.backends.protocols import OAuth2Backend
from moltnet.errors import InsufficientScope, Unauthorized, UpstreamError
from moltnet.schemas.auth import AuthSubject
from moltnet.schemas.enums import Scope
from moltnet.services.authentication import TokenAuthenticator

logger = structlog.get_logger(__name__)

CLIENT_ID_HEADER = "x-client-id"
CLIENT_SECRET_HEADER = "x-client-secret"  # noqa: S105 - a header name, not a secret
# Refresh a cached token this long before it expires, so a call never carries a token
# that dies on its way through the services.
REFRESH_MARGIN_SECONDS = 60.0
MAX_CACHED_CLIENTS = 1024
MAX_CREDENTIAL_CHARS = 512


@dataclass(frozen=True)
class Credentials:
    """What the caller presented; the secret never appears in a repr or a log line."""

    bearer: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    @property
    def anonymous(self) -> bool:
        return self.bearer is None and self.client_id is None and self.client_secret is None


def credentials_from_headers(headers: Mapping[str, str]) -> Credentials:
    """Read the credentials of one HTTP request; a malformed Authorization header is a 401."""
    authorization = headers.get("authorization")
    bearer: str | None = None
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        bearer = token.strip()
    return Credentials(
        bearer=bearer,
        client_id=headers.get(CLIENT_ID_HEADER),
        client_secret=headers.get(CLIENT_SECRET_HEADER),
    )


@dataclass
class _CachedToken:
    access_token: str = field(repr=False)
    expires_at: float  # time.monotonic() clock


class ClientTokenCache:
    """Access tokens obtained for client credentials, keyed by client id + a hash of the secret.

    Keyed by the secret's hash too, so a rotated secret never reuses the old secret's
    token and a wrong secret never hits a right one's entry. Bounded (least recently
    used entries go first): the cache must not grow with hostile client ids.
    """

    def __init__(
        self,
        *,
        max_entries: int = MAX_CACHED_CLIENTS,
        refresh_margin_seconds: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self._entries: OrderedDict[tuple[str, str], _CachedToken] = OrderedDict()
        self._max_entries = max_entries
        self._margin = refresh_margin_seconds

    async def token_for(self, oauth2: OAuth2Backend, *, client_id: str, client_secret: str) -> str:
        key = (
            client_id,
            hashlib.sha256(client_secret.encode("utf-8", "surrogatepass")).hexdigest(),
        )
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and cached.expires_at - self._margin > now:
            self._entries.move_to_end(key)
            return cached.access_token
        self._entries.pop(key, None)
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        response = await oauth2.token(form, None)
        body = response.body
        if response.status != 200:
            error = body.get("error")
            if response.status >= 500 or error == "server_error":
                raise UpstreamError("the OAuth2 backend could not issue a token")
            logger.info("mcp client credentials refused", client_id=client_id, error=error)
            raise Unauthorized("the client credentials were refused")
        access_token = body.get("access_token")
        expires_in = body.get("expires_in")
        if not isinstance(access_token, str) or not isinstance(expires_in, int):
            raise UpstreamError("the OAuth2 backend answered without a usable token")
        self._entries[key] = _CachedToken(access_token, now + expires_in)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return access_token


async def authenticate(
    credentials: Credentials,
    *,
    authenticator: TokenAuthenticator,
    oauth2: OAuth2Backend,
    cache: ClientTokenCache,
) -> AuthSubject | None:
    """The caller, or None when nothing was presented. Bad credentials raise ``Unauthorized``."""
    if credentials.bearer is not None:
        return await authenticator.authenticate(credentials.bearer)
    if credentials.client_id is None and credentials.client_secret is None:
        return None
    if not credentials.client_id or not credentials.client_secret:
        raise Unauthorized("send both X-Client-Id and X-Client-Secret")
    if (
        len(credentials.client_id) > MAX_CREDENTIAL_CHARS
        or len(credentials.client_secret) > MAX_CREDENTIAL_CHARS
    ):
        raise Unauthorized("the client credentials were refused")
    token = await cache.token_for(
        oauth2, client_id=credentials.client_id, client_secret=credentials.client_secret
    )
    return await authenticator.authenticate(token)


def require(subject: AuthSubject | None, scope: Scope) -> AuthSubject:
    """A token with ``scope`` is needed (as the REST route's ``Security`` alias demands)."""
    if subject is None:
        raise Unauthorized(
            "an access token is required (Authorization: Bearer, or X-Client-Id + X-Client-Secret)"
        )
    return optional(subject, scope) or subject


def optional(subject: AuthSubject | None, scope: Scope) -> AuthSubject | None:
    """Anonymous is allowed; a caller that authenticated must hold ``scope``."""
    if subject is not None and scope.value not in subject.scopes:
        raise InsufficientScope([scope.value])
    return subject
