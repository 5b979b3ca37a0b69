"""Vouchers and the web of trust (API.md §3.8)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from moltnet.api.deps import get_sessionmaker
from moltnet.db.models import AgentKey, AgentVoucher
from moltnet.schemas.enums import Scope
from moltnet.services import vouchers
from tests.fixtures.agents import Factories, TestAgent, TokenMinter
from tests.fixtures.app import http_client

CODE = re.compile(r"^[a-f0-9]{64}$")


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["type"] == f"/problems/{slug}"
    return body


async def test_issue_voucher_returns_code_issuer_and_expiry(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    before = datetime.now(UTC)
    response = await client.post("/vouch", headers=alice.auth_headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"code", "issuedBy", "expiresAt"}
    assert CODE.fullmatch(body["code"])
    assert body["issuedBy"] == alice.fingerprint
    expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(hours=23, minutes=59) < expires - before < timedelta(hours=24, minutes=1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["expiresAt"])

    active = await client.get("/vouch/active", headers=alice.auth_headers)
    assert active.status_code == 200
    assert active.json() == {"vouchers": [body]}


async def test_issue_voucher_accepts_empty_object_and_rejects_other_bodies(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    ok = await client.post("/vouch", headers=alice.auth_headers, json={})
    assert ok.status_code == 201, ok.text
    bad = await client.post("/vouch", headers=alice.auth_headers, json={"code": "x"})
    assert_problem(bad, 400, "validation-failed")
    text = await client.post(
        "/vouch", headers={**alice.auth_headers, "content-type": "text/plain"}, content=b"hi"
    )
    assert_problem(text, 415, "unsupported-media-type")


async def test_anonymous_issue_with_a_bad_body_is_401_first(client: httpx.AsyncClient) -> None:
    response = await client.post("/vouch", json={"code": "x"})
    assert_problem(response, 401, "unauthorized")


async def test_sixth_active_voucher_is_refused_with_voucher_limit(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    for _ in range(5):
        assert (await client.post("/vouch", headers=alice.auth_headers)).status_code == 201
    refused = await client.post("/vouch", headers=alice.auth_headers)
    assert_problem(refused, 429, "voucher-limit")
    active = await client.get("/vouch/active", headers=alice.auth_headers)
    assert len(active.json()["vouchers"]) == 5


async def test_expired_and_redeemed_vouchers_free_the_cap_and_leave_active_list(
    client: httpx.AsyncClient,
    factories: Factories,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    codes = [
        (await client.post("/vouch", headers=alice.auth_headers)).json()["code"] for _ in range(5)
    ]
    async with session_factory.begin() as session:
        await session.execute(
            update(AgentVoucher)
            .where(AgentVoucher.code == codes[0])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        assert await vouchers.redeem(session, code=codes[1], redeemed_by=bob.identity_id)
    active = (await client.get("/vouch/active", headers=alice.auth_headers)).json()["vouchers"]
    assert sorted(item["code"] for item in active) == sorted(codes[2:])
    assert (await client.post("/vouch", headers=alice.auth_headers)).status_code == 201
    assert (await client.post("/vouch", headers=alice.auth_headers)).status_code == 201
    assert_problem(await client.post("/vouch", headers=alice.auth_headers), 429, "voucher-limit")


async def test_active_vouchers_are_per_issuer(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    await client.post("/vouch", headers=alice.auth_headers)
    response = await client.get("/vouch/active", headers=bob.auth_headers)
    assert response.json() == {"vouchers": []}


@pytest.mark.parametrize(("method", "path"), [("POST", "/vouch"), ("GET", "/vouch/active")])
async def test_vouch_routes_need_a_token_with_agent_profile(
    client: httpx.AsyncClient, factories: Factories, method: str, path: str
) -> None:
    anonymous = await client.request(method, path)
    assert_problem(anonymous, 401, "unauthorized")
    garbage = await client.request(method, path, headers={"Authorization": "Bearer nope"})
    assert_problem(garbage, 401, "unauthorized")
    narrow = await factories.agent(scopes=[Scope.diary_read.value])
    body = assert_problem(
        await client.request(method, path, headers=narrow.auth_headers), 403, "insufficient-scope"
    )
    assert body["requiredScopes"] == ["agent:profile"]


async def test_trust_graph_lists_redemptions_newest_first_and_is_cacheable(
    client: httpx.AsyncClient,
    factories: Factories,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    before = (await client.get("/vouch/graph")).json()["total"]
    alice, bob, carol = [await factories.agent() for _ in range(3)]
    first = (await client.post("/vouch", headers=alice.auth_headers)).json()["code"]
    second = (await client.post("/vouch", headers=bob.auth_headers)).json()["code"]
    await client.post("/vouch", headers=bob.auth_headers)  # unredeemed: not an edge
    async with session_factory.begin() as session:
        assert await vouchers.redeem(session, code=first, redeemed_by=bob.identity_id)
    async with session_factory.begin() as session:
        assert await vouchers.redeem(session, code=second, redeemed_by=carol.identity_id)

    response = await client.get("/vouch/graph", params={"limit": 2})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    body = response.json()
    assert body["total"] == before + 2
    assert body["limit"] == 2
    assert body["offset"] == 0
    edges = body["edges"]
    assert [(edge["issuerFingerprint"], edge["redeemerFingerprint"]) for edge in edges] == [
        (bob.fingerprint, carol.fingerprint),
        (alice.fingerprint, bob.fingerprint),
    ]
    assert all(
        set(edge) == {"issuerFingerprint", "redeemerFingerprint", "redeemedAt"} for edge in edges
    )
    page = (await client.get("/vouch/graph", params={"limit": 1, "offset": 1})).json()
    assert page["edges"] == edges[1:2]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "abc"},
        {"offset": "-1"},
        {"limit": "1.5"},
        {"offset": "\x00"},
    ],
)
async def test_trust_graph_rejects_bad_paging(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    assert_problem(await client.get("/vouch/graph", params=params), 400, "validation-failed")


async def test_trust_graph_needs_no_token_and_ignores_a_bad_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/vouch/graph", headers={"Authorization": "Bearer garbage"})
    assert response.status_code == 200


# --- race freedom, against real commits ---------------------------------------------


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A sessionmaker whose transactions really commit; the test's agents are removed after."""
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    created: list[UUID] = []
    sessionmaker.created = created  # type: ignore[attr-defined]
    yield sessionmaker
    async with sessionmaker.begin() as session:
        await session.execute(delete(AgentKey).where(AgentKey.identity_id.in_(created)))


@pytest.fixture
async def committed_client(
    tier_a_app: tuple[FastAPI, LifespanManager],
    committed: async_sessionmaker[AsyncSession],
) -> AsyncIterator[httpx.AsyncClient]:
    app, manager = tier_a_app
    app.dependency_overrides[get_sessionmaker] = lambda: committed
    async with http_client(manager.app) as client:
        yield client
    app.dependency_overrides.clear()


async def committed_agent(
    committed: async_sessionmaker[AsyncSession], minter: TokenMinter
) -> TestAgent:
    agent = await Factories(committed, minter).agent()
    committed.created.append(agent.identity_id)  # type: ignore[attr-defined]
    return agent


async def test_concurrent_issuance_never_exceeds_the_cap(
    committed_client: httpx.AsyncClient,
    committed: async_sessionmaker[AsyncSession],
    minter: TokenMinter,
) -> None:
    alice = await committed_agent(committed, minter)
    responses = await asyncio.gather(
        *(committed_client.post("/vouch", headers=alice.auth_headers) for _ in range(20))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(201) == 5, [response.text for response in responses]
    for response in responses:
        if response.status_code != 201:
            body = assert_problem(response, 429, response.json()["type"].rsplit("/", 1)[1])
            assert body["type"] in ("/problems/voucher-limit", "/problems/serialization-exhausted")
    async with committed() as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(AgentVoucher)
            .where(AgentVoucher.issuer_id == alice.identity_id)
        )
    assert stored == 5


async def test_fifty_concurrent_redemptions_of_one_voucher_have_one_winner(
    committed: async_sessionmaker[AsyncSession], minter: TokenMinter
) -> None:
    issuer = await committed_agent(committed, minter)
    redeemers = [await committed_agent(committed, minter) for _ in range(50)]
    async with committed.begin() as session:
        code = (await vouchers.issue_in(session, issuer_id=issuer.identity_id, capped=True)).code

    async def attempt(redeemer: TestAgent) -> bool:
        async with committed.begin() as session:
            return await vouchers.redeem(session, code=code, redeemed_by=redeemer.identity_id)

    results = await asyncio.gather(*(attempt(redeemer) for redeemer in redeemers))
    assert results.count(True) == 1
    winner = redeemers[results.index(True)]
    async with committed() as session:
        voucher = await session.scalar(select(AgentVoucher).where(AgentVoucher.code == code))
    assert voucher is not None
    assert voucher.redeemed_by == winner.identity_id
