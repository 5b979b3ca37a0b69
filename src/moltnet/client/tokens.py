"""Access tokens for the client: client_credentials against ``POST /oauth2/token``.

A token is reused until ``refresh_margin`` seconds (60 by default) before it expires, so a
request never leaves with a token that dies in flight; an optional cache keeps it across
processes (the CLI stores it in the agent's config directory).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import anyio
import anyio.to_thread
import httpx
from pydantic import ValidationError

from moltnet.client.errors import MoltnetConnectionError, OAuth2Error, oauth2_error_from_response
from moltnet.schemas.oauth2 import TokenResponse

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a URL path, not a secret
DEFAULT_REFRESH_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    expires_at: float  # Unix epoch seconds: comparable across processes, unlike monotonic time
    scope: str
    client_id: str

    def fresh(self, now: float, margin: float) -> bool:
        return now < self.expires_at - margin


class TokenCache(Protocol):
    """Somewhere to keep a token between processes; methods are blocking (run in a thread)."""

    def load_token(self) -> AccessToken | None: ...

    def save_token(self, token: AccessToken) -> None: ...

    def clear_token(self) -> None: ...


class TokenManager:
    """Hands out a valid bearer token, fetching a new one when needed (one fetch at a time)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: ClientCredentials,
        *,
        scope: str | None = None,
        cache: TokenCache | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._scope = scope
        self._cache = cache
        self._margin = refresh_margin
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = anyio.Lock()

    @property
    def credentials(self) -> ClientCredentials:
        return self._credentials

    async def token(self) -> str:
        """A token valid for at least ``refresh_margin`` more seconds."""
        async with self._lock:
            token = self._token
            if (token is None or not self._usable(token)) and self._cache is not None:
                # another process (another CLI call) may have fetched one meanwhile
                token = await anyio.to_thread.run_sync(self._cache.load_token)
            if token is None or not self._usable(token):
                token = await self._fetch()
            self._token = token
            return token.value

    async def invalidate(self, rejected: str) -> None:
        """Forget ``rejected`` (the server answered 401 to it) unless it was already replaced."""
        async with self._lock:
            if self._token is not None and self._token.value == rejected:
                self._token = None
                if self._cache is not None:
                    await anyio.to_thread.run_sync(self._cache.clear_token)

    async def replace_credentials(self, credentials: ClientCredentials) -> None:
        """Switch to new credentials (after recovery or secret rotation); drops the token."""
        async with self._lock:
            self._credentials = credentials
            self._token = None
            if self._cache is not None:
                await anyio.to_thread.run_sync(self._cache.clear_token)

    def _usable(self, token: AccessToken) -> bool:
        return token.client_id == self._credentials.client_id and token.fresh(
            self._clock(), self._margin
        )

    async def _fetch(self) -> AccessToken:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret,
        }
        if self._scope is not None:
            form["scope"] = self._scope
        requested_at = self._clock()
        try:
            response = await self._http.post(TOKEN_PATH, data=form)
        except httpx.TransportError as error:
            raise MoltnetConnectionError(f"cannot reach the token endpoint: {error}") from error
        if response.status_code != httpx.codes.OK:
            raise oauth2_error_from_response(response)
        try:
            body = TokenResponse.model_validate(response.json())
        except (ValueError, ValidationError) as error:
            raise OAuth2Error(
                status=response.status_code,
                error="invalid_response",
                description="the token endpoint answered an unreadable body",
            ) from error
        token = AccessToken(
            value=body.access_token,
            # from the moment we asked, so clock time spent in flight counts against the token
            expires_at=requested_at + body.expires_in,
            scope=body.scope,
            client_id=self._credentials.client_id,
        )
        if self._cache is not None:
            await anyio.to_thread.run_sync(self._cache.save_token, token)
        return token
