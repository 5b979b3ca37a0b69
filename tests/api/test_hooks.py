"""Ory webhooks (API.md §3.12): key check, Ory's shapes, and what each hook writes."""

from __future__ import annotations

from typing import cast
from uuid import uuid4

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.api.deps import get_oauth2
from moltnet.backends.embedded.oauth2 import EmbeddedOAuth2Backend
from moltnet.crypto import generate_key_pair
from moltnet.db.models import AgentKey, AgentVoucher, Diary
from moltnet.errors import UpstreamError
from moltnet.lifespan import AppState
from tests.fixtures.agents import Factories, TestAgent

PATHS = [
    "/hooks/kratos/after-registration",
    "/hooks/kratos/after-settings",
    "/hooks/hydra/token-exchange",
]


@pytest.fixture
def api_key(tier_a_app: tuple[object, object]) -> dict[str, str]:
    _, manager = tier_a_app
    state: AppState = manager._state  # type: ignore[attr-defined]
    return {"X-Ory-Api-Key": state["secrets"]["ORY_ACTION_API_KEY"].get_secret_value()}


def kratos_error(response: httpx.Response, status: int, message_id: int, pointer: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["messages"][0]["instance_ptr"] == pointer
    message = body["messages"][0]["messages"][0]
    assert message["id"] == message_id
    assert message["type"] == "error"
    assert message["context"] == {}
    assert isinstance(message["text"], str)


async def voucher_of(client: httpx.AsyncClient, agent: TestAgent) -> str:
    code: str = (await client.post("/vouch", headers=agent.auth_headers)).json()["code"]
    return code


def registration(
    identity_id: object, public_key: object, voucher_code: object
) -> dict[str, object]:
    return {
        "identity": {
            "id": str(identity_id),
            "traits": {"public_key": public_key, "voucher_code": voucher_code},
            "schema_id": "agent",  # unknown members are ignored
        },
        "flow": {"id": "whatever"},
    }


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("key", [None, "", "wrong", "x" * 10_000])
async def test_hooks_need_the_ory_api_key(
    client: httpx.AsyncClient, path: str, key: str | None
) -> None:
    headers = {} if key is None else {"X-Ory-Api-Key": key}
    response = await client.post(path, json={}, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "www-authenticate" not in response.headers


async def test_hooks_are_hidden_from_openapi(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith("/hooks")]


async def test_after_registration_creates_agent_diary_and_redeems_voucher(
    client: httpx.AsyncClient,
    factories: Factories,
    api_key: dict[str, str],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    sponsor = await factories.agent()
    code = await voucher_of(client, sponsor)
    keys, identity_id = generate_key_pair(), uuid4()
    response = await client.post(
        "/hooks/kratos/after-registration",
        json=registration(identity_id, keys.public_key.text, code),
        headers=api_key,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "identity": {
            "metadata_public": {
                "fingerprint": keys.public_key.fingerprint,
                "public_key": keys.public_key.text,
            }
        }
    }
    agent = await client.get(f"/agents/{keys.public_key.fingerprint}")
    assert agent.status_code == 200
    async with session_factory() as session:
        voucher = await session.scalar(select(AgentVoucher).where(AgentVoucher.code == code))
        diaries = (
            await session.scalars(select(Diary.name).where(Diary.owner_id == identity_id))
        ).all()
    assert voucher is not None
    assert voucher.redeemed_by == identity_id
    assert list(diaries) == ["Private"]

    repeated = await client.post(
        "/hooks/kratos/after-registration",
        json=registration(identity_id, keys.public_key.text, code),
        headers=api_key,
    )
    assert repeated.status_code == 200  # Kratos retrying the same hook is harmless


@pytest.mark.parametrize("public_key", ["ed25519:AAAA", 5, None, "rsa:x", "ed25519:" + "A" * 5000])
async def test_after_registration_rejects_bad_keys_first(
    client: httpx.AsyncClient, api_key: dict[str, str], public_key: object
) -> None:
    response = await client.post(
        "/hooks/kratos/after-registration",
        json=registration(uuid4(), public_key, "0" * 64),  # the voucher is bad too
        headers=api_key,
    )
    kratos_error(response, 400, 4000001, "#/traits/public_key")


async def test_after_registration_rejects_registered_keys(
    client: httpx.AsyncClient, factories: Factories, api_key: dict[str, str]
) -> None:
    alice = await factories.agent()
    code = await voucher_of(client, alice)
    response = await client.post(
        "/hooks/kratos/after-registration",
        json=registration(uuid4(), alice.public_key, code),
        headers=api_key,
    )
    kratos_error(response, 400, 4000001, "#/traits/public_key")


@pytest.mark.parametrize("voucher", ["0" * 64, "nope", None, 12])
async def test_after_registration_rejects_bad_vouchers(
    client: httpx.AsyncClient, api_key: dict[str, str], voucher: object
) -> None:
    keys = generate_key_pair()
    response = await client.post(
        "/hooks/kratos/after-registration",
        json=registration(uuid4(), keys.public_key.text, voucher),
        headers=api_key,
    )
    kratos_error(response, 403, 4000003, "#/traits/voucher_code")
    assert (await client.get(f"/agents/{keys.public_key.fingerprint}")).status_code == 404


async def test_after_registration_rejects_a_used_voucher(
    client: httpx.AsyncClient, factories: Factories, api_key: dict[str, str]
) -> None:
    sponsor = await factories.agent()
    code = await voucher_of(client, sponsor)
    first = await client.post(
        "/hooks/kratos/after-registration",
        json=registration(uuid4(), generate_key_pair().public_key.text, code),
        headers=api_key,
    )
    assert first.status_code == 200
    second = await client.post(
        "/hooks/kratos/after-registration",
        json=registration(uuid4(), generate_key_pair().public_key.text, code),
        headers=api_key,
    )
    kratos_error(second, 403, 4000003, "#/traits/voucher_code")


async def test_after_settings_updates_key_and_fingerprint(
    client: httpx.AsyncClient,
    factories: Factories,
    api_key: dict[str, str],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    new = generate_key_pair().public_key
    payload = {"identity": {"id": str(alice.identity_id), "traits": {"public_key": new.text}}}
    response = await client.post("/hooks/kratos/after-settings", json=payload, headers=api_key)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    async with session_factory() as session:
        agent = await session.get(AgentKey, alice.identity_id)
    assert agent is not None
    assert (agent.public_key, agent.fingerprint) == (new.text, new.fingerprint)

    taken = {"identity": {"id": str(alice.identity_id), "traits": {"public_key": bob.public_key}}}
    response = await client.post("/hooks/kratos/after-settings", json=taken, headers=api_key)
    kratos_error(response, 400, 4000001, "#/traits/public_key")
    bad = {"identity": {"id": str(alice.identity_id), "traits": {"public_key": "ed25519:x"}}}
    response = await client.post("/hooks/kratos/after-settings", json=bad, headers=api_key)
    kratos_error(response, 400, 4000001, "#/traits/public_key")


async def test_token_exchange_returns_the_agent_claims(
    client: httpx.AsyncClient, factories: Factories, api_key: dict[str, str]
) -> None:
    alice = await factories.agent()
    # a real client for alice, through recovery (the route that creates one if missing)
    from tests.api.test_recovery import verify_body

    grant = (await client.post("/recovery/verify", json=await verify_body(client, alice))).json()
    credentials = (
        await client.post("/recovery/complete", json={"recoveryCode": grant["recoveryCode"]})
    ).json()
    payload = {
        "session": {"id_token": {}},
        "request": {
            "client_id": credentials["clientId"],
            "grant_types": ["client_credentials"],
            "granted_scopes": ["diary:read"],
            "payload": {},
        },
    }
    response = await client.post("/hooks/hydra/token-exchange", json=payload, headers=api_key)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "session": {
            "access_token": {
                "moltnet:identity_id": str(alice.identity_id),
                "moltnet:public_key": alice.public_key,
                "moltnet:fingerprint": alice.fingerprint,
            }
        }
    }


async def test_token_exchange_for_an_unknown_client_is_invalid_client_metadata(
    client: httpx.AsyncClient, api_key: dict[str, str]
) -> None:
    payload = {"request": {"client_id": "nobody", "grant_types": ["client_credentials"]}}
    response = await client.post("/hooks/hydra/token-exchange", json=payload, headers=api_key)
    assert response.status_code == 403
    assert response.json() == {"error": "invalid_client_metadata"}


async def test_token_exchange_without_an_agent_row_is_agent_not_found(
    client: httpx.AsyncClient,
    tier_a_app: tuple[FastAPI, LifespanManager],
    api_key: dict[str, str],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    _, manager = tier_a_app
    state = cast(AppState, manager._state)
    oauth2 = state["oauth2"]
    assert isinstance(oauth2, EmbeddedOAuth2Backend)
    keys = generate_key_pair().public_key
    credentials = await oauth2.using(session_factory).create_client(
        identity_id=uuid4(),
        public_key=keys.text,
        fingerprint=keys.fingerprint,
        scopes=["diary:read"],
    )
    payload = {"request": {"client_id": credentials.client_id, "grant_types": []}}
    response = await client.post("/hooks/hydra/token-exchange", json=payload, headers=api_key)
    assert response.status_code == 403
    assert response.json() == {"error": "agent_not_found"}


class UnreachableOAuth2:
    """Stands in for a Hydra that does not answer (only ``get_client`` is reached)."""

    kind = "ory"

    async def get_client(self, client_id: str) -> None:
        raise UpstreamError("OAuth2 backend unreachable")


async def test_token_exchange_backend_failure_is_enrichment_failed(
    client: httpx.AsyncClient, tier_a_app: tuple[FastAPI, LifespanManager], api_key: dict[str, str]
) -> None:
    app, _ = tier_a_app
    app.dependency_overrides[get_oauth2] = UnreachableOAuth2
    payload = {"request": {"client_id": "any", "grant_types": ["client_credentials"]}}
    response = await client.post("/hooks/hydra/token-exchange", json=payload, headers=api_key)
    assert response.status_code == 500
    assert response.json() == {"error": "enrichment_failed"}
