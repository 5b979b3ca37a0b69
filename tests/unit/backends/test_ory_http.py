"""``OryHttp``, the request the Ory adapters share, against a respx-simulated API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from moltnet.backends.ory.http import ErrorWording, OryHttp, RetryPolicy, ory_client
from moltnet.errors import UpstreamError

BASE_URL = "http://ory.test:4445"
WORDING = ErrorWording.named("test backend")


@pytest.fixture
def ory_api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with ory_client(BASE_URL, timeout=1.0, api_key="key-1") as http:
        yield http


async def test_api_key_is_sent_as_bearer_token(
    ory_api: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    route = ory_api.get(f"{BASE_URL}/health/ready").respond(200)
    await OryHttp(client, WORDING).request("GET", "/health/ready", expected={200})
    assert route.calls.last.request.headers["authorization"] == "Bearer key-1"


async def test_server_error_without_retry_policy_is_rejected_at_once(
    ory_api: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    ory_api.get(f"{BASE_URL}/admin/things/1").mock(
        side_effect=[httpx.Response(503, text="secret-body"), httpx.Response(200)]
    )
    with pytest.raises(UpstreamError) as caught:
        await OryHttp(client, WORDING).request(
            "GET", "/admin/things/1", expected={200}, route="/admin/things/{id}"
        )
    assert caught.value.detail == "test backend rejected GET /admin/things/{id} (503)"


async def test_server_error_with_retry_policy_is_retried(
    ory_api: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    ory_api.get(f"{BASE_URL}/health/ready").mock(
        side_effect=[httpx.Response(500), httpx.Response(200)]
    )
    http = OryHttp(client, WORDING, RetryPolicy(attempts=2, backoff=0))
    response = await http.request("GET", "/health/ready", expected={200})
    assert response.status_code == 200


async def test_server_error_with_retry_policy_fails_after_the_last_attempt(
    ory_api: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    ory_api.get(f"{BASE_URL}/health/ready").mock(
        side_effect=[httpx.Response(500), httpx.Response(502, text="secret-body")]
    )
    http = OryHttp(client, WORDING, RetryPolicy(attempts=2, backoff=0))
    with pytest.raises(UpstreamError) as caught:
        await http.request("GET", "/health/ready", expected={200})
    assert caught.value.detail == "test backend failed (502) on GET /health/ready"


async def test_client_error_is_not_retried(
    ory_api: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    ory_api.get(f"{BASE_URL}/health/ready").mock(
        side_effect=[httpx.Response(404), httpx.Response(200)]
    )
    http = OryHttp(client, WORDING, RetryPolicy(attempts=3, backoff=0))
    with pytest.raises(UpstreamError, match="rejected"):
        await http.request("GET", "/health/ready", expected={200})
