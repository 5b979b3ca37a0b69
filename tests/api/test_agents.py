"""Agents and the caller's crypto identity (API.md §3.3), tier A."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.crypto import generate_key_pair
from moltnet.db.models import AgentKey
from moltnet.schemas.enums import ALL_SCOPES
from tests.fixtures.agents import Factories, TokenMinter


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


# --- GET /agents/{fingerprint} ---------------------------------------------------------


async def test_agent_profile_is_public(client: httpx.AsyncClient, factories: Factories) -> None:
    agent = await factories.agent()
    response = await client.get(f"/agents/{agent.fingerprint}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"fingerprint", "publicKey", "createdAt"}
    assert body["fingerprint"] == agent.fingerprint
    assert body["publicKey"] == agent.public_key
    assert body["createdAt"].endswith("Z")
    assert len(body["createdAt"]) == len("2026-02-20T09:15:04.123Z")


async def test_agent_fingerprint_matches_in_any_case(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent = await factories.agent()
    response = await client.get(f"/agents/{agent.fingerprint.lower()}")
    assert response.status_code == 200
    assert response.json()["fingerprint"] == agent.fingerprint


async def test_agent_profile_ignores_a_bad_authorization_header(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent = await factories.agent()
    response = await client.get(
        f"/agents/{agent.fingerprint}", headers={"Authorization": "Bearer garbage"}
    )
    assert response.status_code == 200


async def test_unknown_fingerprint_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/agents/0000-0000-0000-0000"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "fingerprint",
    [
        "abc",
        "21FE31DFA154A261",
        "21FE-31DF-A154-A26",
        "21FE-31DF-A154-A2611",
        "21FE-31DF-A154-A26G",
        "21FE_31DF_A154_A261",
        "%2021FE-31DF-A154-A261",
        "%00",
        "%F0%9F%A4%96",
        "x" * 5000,
    ],
)
async def test_malformed_fingerprint_is_400(client: httpx.AsyncClient, fingerprint: str) -> None:
    body = assert_problem(await client.get(f"/agents/{fingerprint}"), 400, "VALIDATION_FAILED")
    assert [error["field"] for error in body["errors"]] == ["path.fingerprint"]


# --- GET /agents/whoami -------------------------------------------------------------------


async def test_whoami_returns_the_caller(client: httpx.AsyncClient, factories: Factories) -> None:
    agent = await factories.agent()
    response = await client.get("/agents/whoami", headers=agent.auth_headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "identityId": str(agent.identity_id),
        "fingerprint": agent.fingerprint,
        "publicKey": agent.public_key,
        "clientId": agent.client_id,
        "scopes": sorted(ALL_SCOPES),
    }


async def test_whoami_lists_the_tokens_scopes(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent = await factories.agent(scopes=["agent:profile", "crypto:sign"])
    response = await client.get("/agents/whoami", headers=agent.auth_headers)
    assert response.json()["scopes"] == ["agent:profile", "crypto:sign"]


async def test_whoami_without_an_agent_row_is_404(
    client: httpx.AsyncClient, minter: TokenMinter
) -> None:
    keys = generate_key_pair()
    token = minter.mint(
        identity_id=uuid4(),
        public_key=keys.public_key.text,
        fingerprint=keys.public_key.fingerprint,
        client_id="orphan",
    )
    response = await client.get("/agents/whoami", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 404, "NOT_FOUND")


async def test_whoami_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/agents/whoami")
    assert_problem(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_whoami_needs_agent_profile(client: httpx.AsyncClient, factories: Factories) -> None:
    agent = await factories.agent(scopes=["diary:read"])
    body = assert_problem(
        await client.get("/agents/whoami", headers=agent.auth_headers), 403, "INSUFFICIENT_SCOPE"
    )
    assert body["requiredScopes"] == ["agent:profile"]


async def test_whoami_wins_over_the_fingerprint_route(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    # Anonymous: the literal route answers 401, not a 400 for a malformed fingerprint.
    assert (await client.get("/agents/whoami")).status_code == 401


# --- GET /crypto/identity ---------------------------------------------------------------


async def test_crypto_identity_comes_from_the_token(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent = await factories.agent()
    response = await client.get("/crypto/identity", headers=agent.auth_headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "identityId": str(agent.identity_id),
        "publicKey": agent.public_key,
        "fingerprint": agent.fingerprint,
    }


async def test_crypto_identity_needs_agent_profile(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    assert_problem(await client.get("/crypto/identity"), 401, "UNAUTHORIZED")
    agent = await factories.agent(scopes=["diary:write"])
    assert_problem(
        await client.get("/crypto/identity", headers=agent.auth_headers),
        403,
        "INSUFFICIENT_SCOPE",
    )


# --- GET /agents --------------------------------------------------------------------------


async def add_agents_at(
    session_factory: async_sessionmaker[AsyncSession], times: list[datetime]
) -> list[AgentKey]:
    """Agents with explicit registration times (rows of one transaction share now())."""
    rows = []
    async with session_factory.begin() as session:
        for created_at in times:
            keys = generate_key_pair()
            row = AgentKey(
                identity_id=uuid4(),
                public_key=keys.public_key.text,
                fingerprint=keys.public_key.fingerprint,
                created_at=created_at,
            )
            session.add(row)
            rows.append(row)
    return rows


async def test_directory_lists_agents_newest_first(
    client: httpx.AsyncClient,
    factories: Factories,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    reader = await factories.agent(scopes=["agent:directory"])
    before = (await client.get("/agents", headers=reader.auth_headers)).json()["total"]
    # Far in the future, so these three are the newest whatever else the database holds.
    base = datetime(2100, 1, 1, tzinfo=UTC)
    oldest, middle, newest = await add_agents_at(
        session_factory, [base, base + timedelta(days=1), base + timedelta(days=2)]
    )

    response = await client.get("/agents?limit=2", headers=reader.auth_headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == before + 3
    assert page["limit"] == 2
    assert page["offset"] == 0
    assert [item["fingerprint"] for item in page["items"]] == [
        newest.fingerprint,
        middle.fingerprint,
    ]
    assert page["items"][0] == {
        "fingerprint": newest.fingerprint,
        "publicKey": newest.public_key,
        "createdAt": "2100-01-03T00:00:00.000Z",
    }

    second = (await client.get("/agents?limit=2&offset=2", headers=reader.auth_headers)).json()
    assert second["items"][0]["fingerprint"] == oldest.fingerprint
    assert second["offset"] == 2


async def test_directory_past_the_end_is_an_empty_page(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    reader = await factories.agent(scopes=["agent:directory"])
    response = await client.get("/agents?offset=1000000", headers=reader.auth_headers)
    assert response.status_code == 200
    body = response.json()
    assert body["items"] == []
    assert body["total"] >= 1


async def test_directory_needs_agent_directory(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    assert_problem(await client.get("/agents"), 401, "UNAUTHORIZED")
    agent = await factories.agent(
        scopes=[scope for scope in ALL_SCOPES if scope != "agent:directory"]
    )
    body = assert_problem(
        await client.get("/agents", headers=agent.auth_headers), 403, "INSUFFICIENT_SCOPE"
    )
    assert body["requiredScopes"] == ["agent:directory"]


async def test_directory_checks_the_token_before_the_query(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/agents?limit=abc"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "query.limit"),
        ("limit=101", "query.limit"),
        ("limit=-1", "query.limit"),
        ("limit=abc", "query.limit"),
        ("limit=1.5", "query.limit"),
        ("limit=", "query.limit"),
        ("offset=-1", "query.offset"),
        ("offset=x", "query.offset"),
        ("offset=99999999999999999999999", "query.offset"),
    ],
)
async def test_directory_rejects_bad_paging(
    client: httpx.AsyncClient, factories: Factories, query: str, field: str
) -> None:
    reader = await factories.agent(scopes=["agent:directory"])
    body = assert_problem(
        await client.get(f"/agents?{query}", headers=reader.auth_headers),
        400,
        "VALIDATION_FAILED",
    )
    assert [error["field"] for error in body["errors"]] == [field]
