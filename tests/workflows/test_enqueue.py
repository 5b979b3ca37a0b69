"""Rows and their workflows commit together or not at all (ARCHITECTURE.md §3)."""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID, uuid4

import httpx
import pytest
from dbos import DBOS
from fastapi import APIRouter, FastAPI, Query
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from moltnet.api.deps import EnqueuerDep, SessionDep
from moltnet.crypto import generate_key_pair
from moltnet.db.models import AgentKey
from moltnet.workflows.enqueue import Queue, WorkflowRef

EFFECTS: list[str] = []
RECORD_EFFECT = WorkflowRef("test.record_effect", Queue.keto)


@DBOS.step()
async def append_effect(marker: str) -> None:
    EFFECTS.append(marker)


@DBOS.workflow(name=RECORD_EFFECT.name)
async def record_effect(marker: str) -> str:
    await append_effect(marker)
    return marker


router = APIRouter()


class Boom(Exception):
    pass


@router.post("/_test/agents")
async def insert_and_enqueue(
    session: SessionDep, enqueuer: EnqueuerDep, fail: Annotated[bool, Query()] = False
) -> dict[str, str]:
    keys = generate_key_pair()
    agent = AgentKey(
        identity_id=uuid4(),
        public_key=keys.public_key.text,
        fingerprint=keys.public_key.fingerprint,
    )
    session.add(agent)
    await session.flush()
    await enqueuer.enqueue(
        session,
        RECORD_EFFECT,
        str(agent.identity_id),
        workflow_id=f"test:effect:{agent.identity_id}",
    )
    if fail:
        raise Boom("after the enqueue, before the commit")
    return {"id": str(agent.identity_id)}


@pytest.fixture
async def app_with_probe(live_app: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    app, client = live_app
    app.include_router(router)
    EFFECTS.clear()
    return client


async def count(engine: AsyncEngine, statement: str, **params: object) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(statement), params)).scalar_one())


async def wait_for_status(
    engine: AsyncEngine, workflow_id: str, status: str, timeout: float = 10
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await count(
            engine,
            "SELECT count(*) FROM dbos.workflow_status WHERE workflow_uuid = :id AND status = :s",
            id=workflow_id,
            s=status,
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"workflow {workflow_id} never reached {status}")


async def test_failed_request_leaves_neither_row_nor_workflow(
    app_with_probe: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await app_with_probe.post("/_test/agents?fail=true")
    assert response.status_code == 500
    assert await count(engine, "SELECT count(*) FROM agent_keys") == 0
    assert (
        await count(
            engine,
            "SELECT count(*) FROM dbos.workflow_status WHERE name = :n",
            n=RECORD_EFFECT.name,
        )
        == 0
    )
    await asyncio.sleep(0.5)  # give a (wrongly) started workflow the time to show its effect
    assert EFFECTS == []


async def test_committed_request_runs_its_workflow_effect_exactly_once(
    app_with_probe: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await app_with_probe.post("/_test/agents")
    assert response.status_code == 200
    agent_id = UUID(response.json()["id"])
    async with engine.connect() as connection:
        assert (
            await connection.execute(select(func.count()).select_from(AgentKey))
        ).scalar_one() == 1
    await wait_for_status(engine, f"test:effect:{agent_id}", "SUCCESS")
    assert [str(agent_id)] == EFFECTS


async def test_enqueue_with_an_existing_workflow_id_is_a_no_op(
    app_with_probe: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await app_with_probe.post("/_test/agents")
    agent_id = response.json()["id"]
    workflow_id = f"test:effect:{agent_id}"
    await wait_for_status(engine, workflow_id, "SUCCESS")
    from moltnet.workflows.context import current

    deps = current()
    async with deps.sessionmaker.begin() as session:
        await deps.enqueuer.enqueue(session, RECORD_EFFECT, agent_id, workflow_id=workflow_id)
    await asyncio.sleep(0.5)
    assert [agent_id] == EFFECTS
    assert (
        await count(
            engine,
            "SELECT count(*) FROM dbos.workflow_status WHERE workflow_uuid = :id",
            id=workflow_id,
        )
        == 1
    )
