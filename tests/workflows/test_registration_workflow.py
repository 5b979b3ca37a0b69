"""``registration.register_agent``: compensation at every step, and a SIGKILL mid-way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from moltnet.crypto import generate_key_pair
from moltnet.db.models import (
    AgentKey,
    AgentVoucher,
    Diary,
    EmbeddedIdentity,
    OAuth2Client,
    RelationTupleRow,
)
from moltnet.services.vouchers import new_code
from moltnet.workflows import context
from moltnet.workflows.registration import FAIL_AT
from tests.fixtures.agents import Factories, TokenMinter
from tests.fixtures.server import ServerProcess


@pytest.fixture
async def live(
    live_app: tuple[FastAPI, httpx.AsyncClient], engine: AsyncEngine, minter: TokenMinter
) -> AsyncIterator[tuple[httpx.AsyncClient, Factories]]:
    factories = Factories(async_sessionmaker(engine, expire_on_commit=False), minter)
    yield live_app[1], factories
    context.current().extras.pop(FAIL_AT, None)
    await settle(engine)


async def settle(engine: AsyncEngine, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with engine.connect() as connection:
            busy = await connection.scalar(
                text(
                    "SELECT count(*) FROM dbos.workflow_status "
                    "WHERE status IN ('PENDING', 'ENQUEUED')"
                )
            )
        if busy == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("workflows did not settle")


async def leftovers(engine: AsyncEngine, public_key: str) -> dict[str, int]:
    async with engine.connect() as connection:

        async def count(statement: object) -> int:
            return int((await connection.execute(statement)).scalar_one())  # type: ignore[call-overload]

        return {
            "agents": await count(
                select(func.count()).select_from(AgentKey).where(AgentKey.public_key == public_key)
            ),
            "identities": await count(
                select(func.count())
                .select_from(EmbeddedIdentity)
                .where(EmbeddedIdentity.traits["public_key"].astext == public_key)
            ),
            "clients": await count(
                select(func.count())
                .select_from(OAuth2Client)
                .where(OAuth2Client.client_metadata["public_key"].astext == public_key)
            ),
            # the sponsor holds no tuples, so every tuple belongs to the registration
            "tuples": await count(select(func.count()).select_from(RelationTupleRow)),
            "diaries": await count(
                select(func.count())
                .select_from(Diary)
                .join(AgentKey, AgentKey.identity_id == Diary.owner_id)
                .where(AgentKey.public_key == public_key)
            ),
        }


NOTHING = {"agents": 0, "identities": 0, "clients": 0, "tuples": 0, "diaries": 0}


@pytest.mark.parametrize("step", ["create_identity", "persist_agent", "create_client"])
async def test_a_failure_at_any_step_leaves_nothing_and_keeps_the_voucher(
    live: tuple[httpx.AsyncClient, Factories], engine: AsyncEngine, step: str
) -> None:
    client, factories = live
    sponsor = await factories.agent()
    code = (await client.post("/vouch", headers=sponsor.auth_headers)).json()["code"]
    key = generate_key_pair().public_key.text

    context.current().extras[FAIL_AT] = step
    failed = await client.post("/auth/register", json={"publicKey": key, "voucherCode": code})
    assert failed.status_code == 502, failed.text
    assert failed.json()["type"] == "/problems/upstream-error"
    assert "secret" not in failed.text.lower()
    await settle(engine)
    assert await leftovers(engine, key) == NOTHING
    active = await client.get("/vouch/active", headers=sponsor.auth_headers)
    assert [item["code"] for item in active.json()["vouchers"]] == [code]
    graph = await client.get("/vouch/graph")
    assert graph.json()["total"] == 0

    context.current().extras.pop(FAIL_AT)
    retried = await client.post("/auth/register", json={"publicKey": key, "voucherCode": code})
    assert retried.status_code == 200, retried.text
    await settle(engine)
    assert await leftovers(engine, key) == {
        "agents": 1,
        "identities": 1,
        "clients": 1,
        "tuples": 2,  # Agent#self and the Private diary's owner
        "diaries": 1,
    }


async def test_the_client_secret_never_reaches_dbos_tables(
    live: tuple[httpx.AsyncClient, Factories], engine: AsyncEngine
) -> None:
    client, factories = live
    sponsor = await factories.agent()
    code = (await client.post("/vouch", headers=sponsor.auth_headers)).json()["code"]
    key = generate_key_pair().public_key.text
    response = await client.post("/auth/register", json={"publicKey": key, "voucherCode": code})
    secret = response.json()["clientSecret"]
    await settle(engine)
    async with engine.connect() as connection:
        dumps = (
            await connection.execute(
                text(
                    "SELECT coalesce(output, '') || coalesce(error, '') FROM dbos.workflow_status "
                    "UNION ALL SELECT coalesce(output, '') || coalesce(error, '') "
                    "FROM dbos.operation_outputs"
                )
            )
        ).scalars()
        assert not any(secret in dump for dump in dumps)


# --- SIGKILL mid-registration ---------------------------------------------------------


async def seed_voucher(database_url: str) -> str:
    """A sponsor and one voucher, written straight into the server's database."""
    engine = create_async_engine(database_url)
    code = new_code()
    keys = generate_key_pair()
    sponsor = uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            insert(AgentKey).values(
                identity_id=sponsor,
                public_key=keys.public_key.text,
                fingerprint=keys.public_key.fingerprint,
            )
        )
        await connection.execute(
            insert(AgentVoucher).values(
                id=uuid4(),
                code=code,
                issuer_id=sponsor,
                expires_at=datetime.now(UTC) + timedelta(hours=1),
            )
        )
    await engine.dispose()
    return code


async def poll(engine: AsyncEngine, statement: str, timeout: float = 60, **params: object) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with engine.connect() as connection:
            if (await connection.execute(text(statement), params)).scalar():
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never true: {statement}")


async def test_registration_killed_mid_way_completes_after_restart(
    server_factory: object,
) -> None:
    server: ServerProcess = server_factory(IDENTITY_TEST_STEP_DELAY_SECONDS="2")  # type: ignore[operator]
    database_url = server.database_url
    assert database_url is not None
    code = await seed_voucher(database_url)
    key = generate_key_pair().public_key
    engine = create_async_engine(database_url)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            request = asyncio.create_task(
                http.post("/auth/register", json={"publicKey": key.text, "voucherCode": code})
            )
            # The identity exists and the persist step is pausing: kill the server now.
            await poll(
                engine,
                "SELECT count(*) FROM dbos.operation_outputs "
                "WHERE function_name = 'registration.create_identity'",
            )
            server.kill()
            with pytest.raises(httpx.TransportError):
                await request
        async with engine.connect() as connection:
            agents = await connection.scalar(
                select(func.count()).select_from(AgentKey).where(AgentKey.public_key == key.text)
            )
        assert agents == 0  # killed before the persist step committed

        server.start()
        await poll(
            engine,
            "SELECT count(*) FROM dbos.workflow_status "
            "WHERE name = 'registration.register_agent' AND status = 'SUCCESS'",
        )
        async with engine.connect() as connection:
            agents = await connection.scalar(
                select(func.count()).select_from(AgentKey).where(AgentKey.public_key == key.text)
            )
            redeemed = await connection.scalar(
                select(AgentVoucher.redeemed_by).where(AgentVoucher.code == code)
            )
            clients = await connection.scalar(
                select(func.count())
                .select_from(OAuth2Client)
                .where(OAuth2Client.identity_id == redeemed)
            )
            identities = await connection.scalar(select(func.count()).select_from(EmbeddedIdentity))
            outcome = await connection.scalar(
                text(
                    "SELECT output FROM dbos.workflow_status "
                    "WHERE name = 'registration.register_agent'"
                )
            )
        assert agents == 1, (outcome, server.tail_log())
        assert redeemed is not None
        assert clients == 1
        assert identities == 1  # the re-run step found the identity its first run created
    finally:
        await engine.dispose()
