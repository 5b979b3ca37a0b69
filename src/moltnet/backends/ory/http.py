"""The HTTP plumbing the Ory adapters share: their clients, one request, its retries.

We talk HTTP with httpx ourselves because ory-client's transport is synchronous.
A failed request becomes an ``UpstreamError`` whose detail names the operation (the
method and the route) and the status only: Ory's response bodies, which may echo
secrets or traits, never reach the caller or the logs.

Retrying is a per-adapter choice (``RetryPolicy``): only connect failures and 5xx
answers are retried, so only adapters whose every call is idempotent should ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from moltnet.errors import UpstreamError


def ory_client(base_url: str, *, timeout: float, api_key: str | None = None) -> httpx.AsyncClient:
    """A client for one Ory API; ``api_key`` (Ory Network) is sent as a bearer token."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, headers=headers)


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in total; the first wait is ``backoff`` seconds, doubled per retry."""

    attempts: int = 3
    backoff: float = 0.1
    max_wait: float = 2.0


@dataclass(frozen=True)
class ErrorWording:
    """The details of the ``UpstreamError``s, formatted with ``operation`` and ``status``."""

    timed_out: str
    unreachable: str
    rejected: str  # an answer outside the expected statuses
    failed: str = ""  # a 5xx that outlived the retries (only used with a RetryPolicy)

    @classmethod
    def named(cls, backend: str) -> ErrorWording:
        return cls(
            timed_out=f"{backend} timed out on {{operation}}",
            unreachable=f"{backend} unreachable on {{operation}}",
            rejected=f"{backend} rejected {{operation}} ({{status}})",
            failed=f"{backend} failed ({{status}}) on {{operation}}",
        )


class _ServerError(Exception):
    """A 5xx answer, raised inside the retry loop so tenacity can retry it."""

    def __init__(self, status_code: int) -> None:
        super().__init__(status_code)
        self.status_code = status_code


def _is_transient(error: BaseException) -> bool:
    # A connect failure never reached the server; a 5xx may be a restart or a database
    # blip. Read timeouts are not retried: the caller's latency budget is already spent.
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | _ServerError)


@dataclass(frozen=True)
class OryHttp:
    """Requests to one Ory API through ``client``, with the adapter's wording and retries."""

    client: httpx.AsyncClient
    wording: ErrorWording
    retry: RetryPolicy | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        expected: set[int],
        route: str | None = None,
        params: Mapping[str, str] | None = None,
        json: object = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The response when its status is ``expected``; else an ``UpstreamError``.

        ``route`` is the path as reported in errors, a template when the path carries
        an id (defaults to ``path``).
        """
        operation = f"{method} {route or path}"
        try:
            if self.retry is None:
                response = await self.client.request(
                    method, path, params=params, json=json, data=data
                )
            else:
                response = await self._retried(
                    self.retry, method, path, params=params, json=json, data=data
                )
        except _ServerError as error:
            detail = self.wording.failed.format(operation=operation, status=error.status_code)
            raise UpstreamError(detail) from None
        except httpx.TimeoutException:
            raise UpstreamError(self.wording.timed_out.format(operation=operation)) from None
        except httpx.HTTPError:
            raise UpstreamError(self.wording.unreachable.format(operation=operation)) from None
        if response.status_code not in expected:
            detail = self.wording.rejected.format(operation=operation, status=response.status_code)
            raise UpstreamError(detail)
        return response

    async def _retried(
        self,
        policy: RetryPolicy,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        json: object,
        data: Mapping[str, str] | None,
    ) -> httpx.Response:
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(max(1, policy.attempts)),
            wait=wait_exponential(multiplier=policy.backoff, max=policy.max_wait),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                response = await self.client.request(
                    method, path, params=params, json=json, data=data
                )
                if response.status_code >= 500:
                    raise _ServerError(response.status_code)
        return response


class OryAdapter:
    """The base of the Ory adapters: it owns their httpx clients.

    Open an adapter in the lifespan and ``aclose()`` it there (or use it as an async
    context manager); the clients close in the order they were given.
    """

    def __init__(self, *clients: httpx.AsyncClient) -> None:
        self._clients = clients

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
