"""The token manager: fetch, reuse, refresh 60 s early, one retry on 401 (respx, no server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from moltnet.client import (
    AccessToken,
    ClientCredentials,
    MoltnetClient,
    OAuth2Error,
    TokenManager,
    Unauthorized,
)

BASE = "http://moltnet.test"
CREDENTIALS = ClientCredentials("client-1", "secret-1")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class MemoryCache:
    def __init__(self) -> None:
        self.token: AccessToken | None = None

    def load_token(self) -> AccessToken | None:
        return self.token

    def save_token(self, token: AccessToken) -> None:
        self.token = token

    def clear_token(self) -> None:
        self.token = None


def token_route(router: respx.MockRouter, *tokens: str, expires_in: int = 3600) -> respx.Route:
    return router.post("/oauth2/token").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "access_token": token,
                    "token_type": "bearer",
                    "expires_in": expires_in,
                    "scope": "diary:read",
                },
            )
            for token in tokens
        ]
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=BASE) as client:
        yield client


@respx.mock(base_url=BASE)
async def test_token_is_fetched_with_client_credentials_and_reused(
    respx_mock: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = token_route(respx_mock, "t1")
    manager = TokenManager(http, CREDENTIALS, scope="diary:read", clock=Clock())
    assert await manager.token() == "t1"
    assert await manager.token() == "t1"
    assert route.call_count == 1
    form = parse_qs(route.calls[0].request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["client-1"],
        "client_secret": ["secret-1"],
        "scope": ["diary:read"],
    }
    assert route.calls[0].request.headers["content-type"] == "application/x-www-form-urlencoded"


@respx.mock(base_url=BASE)
async def test_token_is_refreshed_sixty_seconds_before_expiry(
    respx_mock: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = token_route(respx_mock, "t1", "t2", expires_in=300)
    clock = Clock()
    manager = TokenManager(http, CREDENTIALS, clock=clock)
    assert await manager.token() == "t1"
    clock.now += 239  # 61 s left: still fresh
    assert await manager.token() == "t1"
    clock.now += 1  # 60 s left: refresh now, not in flight
    assert await manager.token() == "t2"
    assert route.call_count == 2


@respx.mock(base_url=BASE)
async def test_cached_token_is_reused_by_a_new_manager(
    respx_mock: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = token_route(respx_mock, "t1", "t2")
    cache, clock = MemoryCache(), Clock()
    assert await TokenManager(http, CREDENTIALS, cache=cache, clock=clock).token() == "t1"
    assert cache.token is not None
    assert cache.token.expires_at == clock.now + 3600
    assert await TokenManager(http, CREDENTIALS, cache=cache, clock=clock).token() == "t1"
    other = ClientCredentials("client-2", "secret-2")  # another client's token is not reused
    assert await TokenManager(http, other, cache=cache, clock=clock).token() == "t2"
    assert route.call_count == 2


@respx.mock(base_url=BASE)
async def test_token_endpoint_errors_raise_oauth2_error(
    respx_mock: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    respx_mock.post("/oauth2/token").respond(
        401, json={"error": "invalid_client", "error_description": "client authentication failed"}
    )
    with pytest.raises(OAuth2Error) as caught:
        await TokenManager(http, CREDENTIALS).token()
    assert caught.value.status == 401
    assert caught.value.error == "invalid_client"
    assert caught.value.description == "client authentication failed"


@respx.mock(base_url=BASE)
async def test_client_retries_once_with_a_new_token_after_401(
    respx_mock: respx.MockRouter,
) -> None:
    token_route(respx_mock, "old", "new")
    whoami = {
        "identityId": "7d4c2d3c-1a53-4a57-9a5b-4c6a2d0d7f10",
        "fingerprint": "21FE-31DF-A154-A261",
        "publicKey": "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        "clientId": "client-1",
        "scopes": ["agent:profile"],
    }

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer old":
            return httpx.Response(401, json=problem(401, "unauthorized"))
        return httpx.Response(200, json=whoami)

    route = respx_mock.get("/agents/whoami").mock(side_effect=answer)
    async with MoltnetClient(BASE, credentials=CREDENTIALS) as client:
        me = await client.whoami()
    assert me.fingerprint == "21FE-31DF-A154-A261"
    assert [call.request.headers["authorization"] for call in route.calls] == [
        "Bearer old",
        "Bearer new",
    ]


@respx.mock(base_url=BASE)
async def test_client_gives_up_after_the_second_401(respx_mock: respx.MockRouter) -> None:
    token_route(respx_mock, "t1", "t2")
    route = respx_mock.get("/agents/whoami").respond(401, json=problem(401, "unauthorized"))
    async with MoltnetClient(BASE, credentials=CREDENTIALS) as client:
        with pytest.raises(Unauthorized) as caught:
            await client.whoami()
    assert caught.value.slug == "unauthorized"
    assert route.call_count == 2


@respx.mock(base_url=BASE, assert_all_called=False)
async def test_anonymous_routes_send_no_token(respx_mock: respx.MockRouter) -> None:
    tokens = token_route(respx_mock, "t1")
    route = respx_mock.post("/crypto/verify").respond(200, json={"valid": False})
    async with MoltnetClient(BASE, credentials=CREDENTIALS) as client:
        assert (await client.verify_signature("AA==")).valid is False
    assert "authorization" not in route.calls[0].request.headers
    assert tokens.call_count == 0


def problem(status: int, slug: str, **extensions: object) -> dict[str, object]:
    return {
        "type": f"/problems/{slug}",
        "title": slug.replace("-", " ").title(),
        "status": status,
        "code": slug.replace("-", "_").upper(),
        **extensions,
    }
