"""Rate limits (API.md §1.8): keying by identity or client address, buckets, headers, 429."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter

from moltnet.api.auth import DiaryWriter, OptionalDiaryReader
from moltnet.api.rate_limits import client_address
from moltnet.config import RateLimitSettings, Settings
from moltnet.main import create_app
from tests.fixtures.agents import TokenMinter
from tests.fixtures.app import http_client

router = APIRouter(prefix="/probe-rate")


@router.get("/read")
async def read_probe(subject: OptionalDiaryReader) -> dict[str, str | None]:
    return {"fingerprint": subject.fingerprint if subject else None}


@router.post("/write")
async def write_probe(subject: DiaryWriter) -> dict[str, str]:
    return {"fingerprint": subject.fingerprint}


LIMITS = RateLimitSettings(
    global_auth=3,
    global_anon=2,
    embedding=2,
    vouch=0,  # disabled
    signing=2,
    recovery=2,
    public_verify=2,
    public_search=2,
    registration=2,
)
_addresses = itertools.count(1)


def fresh_ip() -> str:
    """A client address no other test has used: buckets live as long as the module's app."""
    number = next(_addresses)
    return f"198.51.{number // 250}.{number % 250 + 1}"


def via(ip: str, **headers: str) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.66, {ip}", **headers}  # the left entry is spoofable


@pytest.fixture(scope="module")
async def limited(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    limited_settings = settings.model_copy(update={"rate": LIMITS, "trust_proxy": 1})
    app = create_app(limited_settings, launch_workflows=False)
    app.include_router(router)
    async with LifespanManager(app) as manager, http_client(manager.app) as client:
        yield client


def bearer_for(minter: TokenMinter) -> dict[str, str]:
    token = minter.mint(
        identity_id=uuid4(),
        public_key="ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        fingerprint="21FE-31DF-A154-A261",
        client_id=str(uuid4()),
    )
    return {"Authorization": f"Bearer {token}"}


def assert_429(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/rate-limit-exceeded"
    assert body["code"] == "RATE_LIMIT_EXCEEDED"
    assert body["status"] == 429
    assert isinstance(body["retryAfter"], int)
    assert 1 <= body["retryAfter"] <= 60
    assert response.headers["retry-after"] == str(body["retryAfter"])
    assert response.headers["ratelimit-remaining"] == "0"


async def test_two_agents_behind_one_address_do_not_share_a_bucket(
    limited: httpx.AsyncClient, minter: TokenMinter
) -> None:
    ip = fresh_ip()
    alice, bob = bearer_for(minter), bearer_for(minter)
    for _ in range(3):
        assert (await limited.get("/probe-rate/read", headers=via(ip, **alice))).status_code == 200
    assert_429(await limited.get("/probe-rate/read", headers=via(ip, **alice)))

    response = await limited.get("/probe-rate/read", headers=via(ip, **bob))
    assert response.status_code == 200
    assert response.headers["ratelimit-limit"] == "3"
    assert response.headers["ratelimit-remaining"] == "2"


async def test_an_agent_keeps_its_bucket_across_addresses(
    limited: httpx.AsyncClient, minter: TokenMinter
) -> None:
    alice = bearer_for(minter)
    for _ in range(3):
        await limited.get("/probe-rate/read", headers=via(fresh_ip(), **alice))
    assert_429(await limited.get("/probe-rate/read", headers=via(fresh_ip(), **alice)))


async def test_anonymous_requests_are_keyed_by_client_address(limited: httpx.AsyncClient) -> None:
    ip = fresh_ip()
    first = await limited.get("/probe-rate/read", headers=via(ip))
    assert first.status_code == 200
    assert first.headers["ratelimit-limit"] == "2"
    assert first.headers["ratelimit-remaining"] == "1"
    await limited.get("/probe-rate/read", headers=via(ip))
    assert_429(await limited.get("/probe-rate/read", headers=via(ip)))
    # another address has its own budget
    assert (await limited.get("/probe-rate/read", headers=via(fresh_ip()))).status_code == 200


async def test_spoofed_forwarded_entries_do_not_change_the_key(limited: httpx.AsyncClient) -> None:
    ip = fresh_ip()
    for spoofed in ("10.0.0.1", "10.0.0.2"):
        headers = {"X-Forwarded-For": f"{spoofed}, {ip}"}
        assert (await limited.get("/probe-rate/read", headers=headers)).status_code == 200
    assert_429(
        await limited.get("/probe-rate/read", headers={"X-Forwarded-For": f"10.0.0.3, {ip}"})
    )


async def test_counted_responses_carry_ratelimit_headers(limited: httpx.AsyncClient) -> None:
    ip = fresh_ip()
    response = await limited.get("/probe-rate/read", headers=via(ip))
    assert response.headers["ratelimit-limit"] == "2"
    assert response.headers["ratelimit-remaining"] == "1"
    assert 1 <= int(response.headers["ratelimit-reset"]) <= 60
    assert "retry-after" not in response.headers
    # unknown routes are counted too (404 after the limiter)
    missing = await limited.get("/no-such-route", headers=via(ip))
    assert missing.status_code == 404
    assert missing.headers["ratelimit-remaining"] == "0"


async def test_invalid_token_counts_as_anonymous_and_is_then_401(
    limited: httpx.AsyncClient,
) -> None:
    ip = fresh_ip()
    headers = via(ip, Authorization="Bearer not-a-token")
    response = await limited.post("/probe-rate/write", headers=headers)
    assert response.status_code == 401
    assert response.headers["ratelimit-limit"] == "2"  # the anonymous bucket
    await limited.post("/probe-rate/write", headers=headers)
    # 429 comes before 401 in the order of checks
    assert_429(await limited.post("/probe-rate/write", headers=headers))
    assert_429(await limited.post("/probe-rate/write", headers=via(ip)))


async def test_body_size_is_checked_before_the_rate_limit(limited: httpx.AsyncClient) -> None:
    ip = fresh_ip()
    for _ in range(2):
        await limited.get("/probe-rate/read", headers=via(ip))
    oversized = b"{" + b" " * 1_048_600 + b"}"
    response = await limited.post(
        "/probe-rate/write",
        content=oversized,
        headers=via(ip, **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 413
    assert "ratelimit-limit" not in response.headers


@pytest.mark.parametrize(
    "path",
    ["/health", "/health/ready", "/problems", "/problems/not-found", "/openapi.json", "/docs"],
)
async def test_operational_routes_are_not_counted(limited: httpx.AsyncClient, path: str) -> None:
    ip = fresh_ip()
    for _ in range(3):
        await limited.get("/probe-rate/read", headers=via(ip))
    response = await limited.get(path, headers=via(ip))
    assert response.status_code != 429
    assert "ratelimit-limit" not in response.headers


async def test_hooks_are_not_counted(limited: httpx.AsyncClient) -> None:
    ip = fresh_ip()
    for _ in range(4):
        response = await limited.post("/hooks/kratos/after-settings", json={}, headers=via(ip))
        assert response.status_code != 429
        assert "ratelimit-limit" not in response.headers


@pytest.mark.parametrize(
    ("method", "paths", "limit"),
    [
        ("POST", ["/auth/register"], "2"),
        ("POST", ["/recovery/challenge", "/recovery/verify", "/recovery/complete"], "2"),
        ("POST", ["/crypto/verify", "/agents/21FE-31DF-A154-A261/verify"], "2"),
        ("POST", ["/diaries/search", f"/diaries/{uuid4()}/compile"], "2"),
        ("POST", ["/crypto/signing-requests"], "2"),
        ("GET", ["/public/feed/search"], "2"),
    ],
)
async def test_route_buckets_share_one_budget_and_spare_the_global_one(
    limited: httpx.AsyncClient, method: str, paths: list[str], limit: str
) -> None:
    ip = fresh_ip()
    responses = [
        await limited.request(method, path, json={}, headers=via(ip))
        for path in itertools.islice(itertools.cycle(paths), 3)
    ]
    assert [r.headers["ratelimit-limit"] for r in responses[:2]] == [limit, limit]
    assert [r.headers["ratelimit-remaining"] for r in responses[:2]] == ["1", "0"]
    assert_429(responses[2])
    # the global anonymous bucket of the same address is untouched
    other = await limited.get("/probe-rate/read", headers=via(ip))
    assert other.status_code == 200
    assert other.headers["ratelimit-remaining"] == "1"


async def test_a_bucket_set_to_zero_is_disabled(limited: httpx.AsyncClient) -> None:
    ip = fresh_ip()
    for _ in range(5):
        response = await limited.post("/vouch", json={}, headers=via(ip))
        assert response.status_code != 429
        assert "ratelimit-limit" not in response.headers


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "10.9.9.9"),  # no proxy trusted: the socket peer
        (1, None, "10.9.9.9"),  # no header: the socket peer
        (1, "1.1.1.1", "1.1.1.1"),
        (1, "6.6.6.6, 1.1.1.1", "1.1.1.1"),
        (2, "6.6.6.6, 1.1.1.1, 2.2.2.2", "1.1.1.1"),
        (3, "1.1.1.1", "1.1.1.1"),  # fewer entries than hops: the leftmost one
    ],
)
def test_client_address_counts_trusted_hops_from_the_right(
    hops: int, forwarded: str | None, expected: str
) -> None:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    scope = {"type": "http", "headers": headers, "client": ("10.9.9.9", 4000)}
    assert client_address(scope, hops) == expected


async def test_token_endpoint_answers_its_429_in_rfc_6749_form(limited: httpx.AsyncClient) -> None:
    ip = fresh_ip()
    form = {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}
    statuses = [
        (await limited.post("/oauth2/token", data=form, headers=via(ip))).status_code
        for _ in range(LIMITS.global_anon)
    ]
    assert 429 not in statuses
    response = await limited.post("/oauth2/token", data=form, headers=via(ip))
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "temporarily_unavailable"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["cache-control"] == "no-store"
