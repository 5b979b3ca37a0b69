"""The signing workflow end to end over HTTP, tier B: DBOS runs, rows really commit.

The test plays the agent: it holds a real Ed25519 seed, signs ``signingInput`` locally
and submits the signature (API.md §3.4, the seed's signing sequence).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from moltnet.config import Settings, SigningSettings
from moltnet.crypto import build_signing_input, encode_signature, entry_cid, generate_key_pair, sign
from moltnet.main import create_app
from tests.fixtures import agents as agent_fixtures
from tests.fixtures.agents import Factories, TokenMinter
from tests.fixtures.app import http_client
from tests.fixtures.database import truncate_everything

PATH = "/crypto/signing-requests"
Request = dict[str, Any]
LiveFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def live_signing(settings: Settings, engine: AsyncEngine) -> LiveFactory:
    """``async with live_signing(ttl) as client``: a tier-B app with its own signing TTL."""

    @asynccontextmanager
    async def open_app(ttl_seconds: int = 300) -> AsyncIterator[httpx.AsyncClient]:
        await truncate_everything(engine)
        # Same home as the session's settings: the tokens the minter signs stay valid.
        overridden = settings.model_copy(
            update={"signing": SigningSettings(request_ttl_seconds=ttl_seconds)}
        )
        app = create_app(overridden, launch_workflows=True)
        async with (
            LifespanManager(app, startup_timeout=120, shutdown_timeout=30) as manager,
            http_client(manager.app) as client,
        ):
            yield client

    return open_app


@pytest.fixture
def live_factories(engine: AsyncEngine, minter: TokenMinter) -> Factories:
    return Factories(async_sessionmaker(engine, expire_on_commit=False), minter)


async def create(
    client: httpx.AsyncClient, agent: agent_fixtures.TestAgent, message: str = "hello"
) -> Request:
    response = await client.post(PATH, json={"message": message}, headers=agent.auth_headers)
    assert response.status_code == 201, response.text
    body: Request = response.json()
    return body


def signed_by(seed: bytes, request: Request) -> str:
    return encode_signature(sign(seed, base64.b64decode(request["signingInput"])))


async def submit(
    client: httpx.AsyncClient, agent: agent_fixtures.TestAgent, request: Request, signature: str
) -> httpx.Response:
    return await client.post(
        f"{PATH}/{request['id']}/sign", json={"signature": signature}, headers=agent.auth_headers
    )


async def stored_state(engine: AsyncEngine, request_id: str) -> tuple[str, bool | None]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT status, valid FROM signing_requests WHERE id = :id"),
                {"id": UUID(request_id)},
            )
        ).one()
    return str(row.status), row.valid


async def workflow_status(engine: AsyncEngine, workflow_id: str) -> str | None:
    async with engine.connect() as connection:
        value = await connection.scalar(
            text("SELECT status FROM dbos.workflow_status WHERE workflow_uuid = :id"),
            {"id": workflow_id},
        )
    return None if value is None else str(value)


async def poll(check: Callable[[], Any], *, timeout: float = 15) -> Any:
    """Await ``check()`` until it returns something truthy, or fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.05)


async def test_signed_request_completes_valid_and_verifies(
    live_signing: LiveFactory, live_factories: Factories, engine: AsyncEngine
) -> None:
    async with live_signing() as client:
        agent = await live_factories.agent()
        request = await create(client, agent, "I endorse agent X")
        assert await workflow_status(engine, f"signing:{request['id']}") is not None
        signature = signed_by(agent.keys.seed, request)

        response = await submit(client, agent, request, signature)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "completed"
        assert body["valid"] is True
        assert body["signature"] == signature
        assert body["completedAt"] is not None
        assert await stored_state(engine, request["id"]) == ("completed", True)

        fetched = await client.get(f"{PATH}/{request['id']}", headers=agent.auth_headers)
        assert fetched.json() == body
        listed = await client.get(PATH, params={"status": "completed"}, headers=agent.auth_headers)
        assert [item["id"] for item in listed.json()["items"]] == [request["id"]]

        verified = await client.post("/crypto/verify", json={"signature": signature})
        assert verified.json() == {"valid": True}
        by_agent = await client.post(
            f"/agents/{agent.fingerprint.lower()}/verify", json={"signature": signature}
        )
        assert by_agent.json() == {"valid": True, "signer": {"fingerprint": agent.fingerprint}}

        again = await submit(client, agent, request, signature)
        assert again.status_code == 409
        assert again.json()["type"] == "/problems/signing-request-already-completed"
        await poll(lambda: _equals(workflow_status(engine, f"signing:{request['id']}"), "SUCCESS"))


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def test_wrong_signatures_complete_invalid(
    live_signing: LiveFactory, live_factories: Factories, engine: AsyncEngine
) -> None:
    async with live_signing() as client:
        agent = await live_factories.agent()
        wrong_key, other_nonce, other_message, replayed = [
            await create(client, agent, f"message {index}") for index in range(4)
        ]
        stranger = generate_key_pair()
        cases = {
            "wrong key": (wrong_key, signed_by(stranger.seed, wrong_key)),
            "another nonce": (
                other_nonce,
                encode_signature(
                    sign(agent.keys.seed, build_signing_input(other_nonce["message"], uuid4()))
                ),
            ),
            "another message": (
                other_message,
                encode_signature(
                    sign(
                        agent.keys.seed,
                        build_signing_input("something else", other_message["nonce"]),
                    )
                ),
            ),
        }
        for name, (request, signature) in cases.items():
            response = await submit(client, agent, request, signature)
            assert response.status_code == 200, (name, response.text)
            assert response.json()["status"] == "completed", name
            assert response.json()["valid"] is False, name
            assert await stored_state(engine, request["id"]) == ("completed", False)
            assert (await client.post("/crypto/verify", json={"signature": signature})).json() == {
                "valid": False
            }

        # A signature that completed one request is worthless on another (its nonce differs).
        original = await create(client, agent, "original")
        signature = signed_by(agent.keys.seed, original)
        assert (await submit(client, agent, original, signature)).json()["valid"] is True
        replay = await submit(client, agent, replayed, signature)
        assert replay.status_code == 200
        assert replay.json()["valid"] is False
        # the public check still finds the genuine use of that signature
        assert (await client.post("/crypto/verify", json={"signature": signature})).json() == {
            "valid": True
        }


async def test_unsigned_request_expires_at_its_deadline(
    live_signing: LiveFactory, live_factories: Factories, engine: AsyncEngine
) -> None:
    async with live_signing(ttl_seconds=2) as client:
        agent = await live_factories.agent()
        request = await create(client, agent)
        signed_in_time = await create(client, agent, "signed in time")
        assert (
            await submit(client, agent, signed_in_time, signed_by(agent.keys.seed, signed_in_time))
        ).json()["valid"] is True

        async def expired_in_the_row() -> bool:
            return (await stored_state(engine, request["id"]))[0] == "expired"

        await poll(expired_in_the_row)  # written by the workflow, not just reported
        fetched = await client.get(f"{PATH}/{request['id']}", headers=agent.auth_headers)
        assert fetched.json()["status"] == "expired"
        assert fetched.json()["completedAt"] is None
        late = await submit(client, agent, request, signed_by(agent.keys.seed, request))
        assert late.status_code == 409
        assert late.json()["type"] == "/problems/signing-request-expired"
        assert (await stored_state(engine, signed_in_time["id"])) == ("completed", True)
        listed = await client.get(PATH, params={"status": "expired"}, headers=agent.auth_headers)
        assert [item["id"] for item in listed.json()["items"]] == [request["id"]]


async def test_concurrent_creates_never_exceed_the_pending_cap(
    live_signing: LiveFactory, live_factories: Factories
) -> None:
    async with live_signing() as client:
        agent = await live_factories.agent()
        responses = await asyncio.gather(
            *(
                client.post(PATH, json={"message": f"m{index}"}, headers=agent.auth_headers)
                for index in range(25)
            )
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [201] * 10 + [429] * 15
        for response in responses:
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) >= 1
        listed = await client.get(PATH, headers=agent.auth_headers)
        assert listed.json()["total"] == 10


async def test_concurrent_double_submits_have_exactly_one_winner(
    live_signing: LiveFactory, live_factories: Factories, engine: AsyncEngine
) -> None:
    async with live_signing() as client:
        agent = await live_factories.agent()
        request = await create(client, agent)
        good = signed_by(agent.keys.seed, request)
        forged = signed_by(generate_key_pair().seed, request)
        responses = await asyncio.gather(
            *(submit(client, agent, request, good if index % 2 else forged) for index in range(10))
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] + [409] * 9, [response.text for response in responses]
        for response in responses:
            if response.status_code == 409:
                assert response.json()["type"] == "/problems/signing-request-already-completed"
        (winner,) = [response.json() for response in responses if response.status_code == 200]
        assert winner["signature"] in {good, forged}
        assert winner["valid"] is (winner["signature"] == good)
        assert await stored_state(engine, request["id"]) == ("completed", winner["valid"])


async def test_signed_entry_round_trip_through_the_workflow(
    live_signing: LiveFactory, live_factories: Factories
) -> None:
    """The §5.4 recipe as an agent runs it: CID → signing request → sign → signed entry."""
    async with live_signing() as client:
        agent = await live_factories.agent()
        diary = await client.post(
            "/diaries", json={"name": "signed notes"}, headers=agent.auth_headers
        )
        assert diary.status_code == 201, diary.text
        content, title, tags = "I am the agent whose key signs this.", "Identity", ["self", "id"]
        entry_body = {"content": content, "title": title, "tags": tags, "entryType": "identity"}
        cid = entry_cid(content=content, title=title, tags=tags, entry_type="identity")
        request = await create(client, agent, cid)
        signature = signed_by(agent.keys.seed, request)
        signed = await submit(client, agent, request, signature)
        assert signed.status_code == 200, signed.text
        assert signed.json()["valid"] is True

        entries_path = f"/diaries/{diary.json()['id']}/entries"
        created = await client.post(
            entries_path,
            json=entry_body | {"signingRequestId": request["id"], "contentHash": cid},
            headers=agent.auth_headers,
        )
        assert created.status_code == 201, created.text
        entry = created.json()
        assert entry["contentHash"] == cid
        assert entry["contentSignature"] == signature
        assert entry["signingNonce"] == request["nonce"]

        verification = await client.get(
            f"/entries/{entry['id']}/verify", headers=agent.auth_headers
        )
        assert verification.json() == {
            "signed": True,
            "hashMatches": True,
            "signatureValid": True,
            "valid": True,
            "contentHash": cid,
            "agentFingerprint": agent.fingerprint,
        }
        reused = await client.post(
            entries_path,
            json=entry_body | {"signingRequestId": request["id"]},
            headers=agent.auth_headers,
        )
        assert reused.status_code == 409, reused.text
        edit = await client.patch(
            f"/entries/{entry['id']}", json={"content": "changed"}, headers=agent.auth_headers
        )
        assert edit.status_code == 409, edit.text
        assert edit.json()["type"] == "/problems/immutable"
