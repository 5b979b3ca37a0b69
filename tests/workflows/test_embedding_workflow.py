"""``embedding.fill_entry`` and re-embedding, tier B: DBOS runs and rows really commit.

The app serves requests with an embedder that is down (the only place a fake embedder
is used); the workflow runs with the real model the lifespan loaded, i.e. the model
"came back", and fills the vector the write could not compute.
"""

from __future__ import annotations

import asyncio
import time
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from moltnet.api.deps import get_embedder
from moltnet.embedding.onnx import DEFAULT_MODEL_ID, OnnxEmbedder
from moltnet.services import entries
from tests.fakes.embedder import DownEmbedder
from tests.fixtures.agents import Factories, TestAgent, TokenMinter


@pytest.fixture
def live_factories(engine: AsyncEngine, minter: TokenMinter) -> Factories:
    return Factories(async_sessionmaker(engine, expire_on_commit=False), minter)


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    return OnnxEmbedder.from_default()


async def vector_state(engine: AsyncEngine, entry_id: str) -> tuple[bool, str | None]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT embedding IS NOT NULL, embedding_model FROM diary_entries WHERE id = :id"
                ),
                {"id": entry_id},
            )
        ).one()
    return bool(row[0]), row[1]


async def wait_for_vector(engine: AsyncEngine, entry_id: str, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await vector_state(engine, entry_id) == (True, DEFAULT_MODEL_ID):
            return
        await asyncio.sleep(0.05)  # polling with a deadline, not synchronising on time
    pytest.fail(f"entry {entry_id} got no vector within {seconds} s")


async def new_diary(client: httpx.AsyncClient, agent: TestAgent) -> str:
    response = await client.post("/diaries", json={"name": "n"}, headers=agent.auth_headers)
    assert response.status_code == 201, response.text
    diary_id: str = response.json()["id"]
    return diary_id


async def test_workflow_fills_the_vector_the_write_could_not_compute(
    live_app: tuple[FastAPI, httpx.AsyncClient], live_factories: Factories, engine: AsyncEngine
) -> None:
    app, client = live_app
    alice = await live_factories.agent()
    diary_id = await new_diary(client, alice)
    app.dependency_overrides[get_embedder] = DownEmbedder
    try:
        response = await client.post(
            f"/diaries/{diary_id}/entries",
            json={"content": "Cormorants dry their wings on the harbour wall."},
            headers=alice.auth_headers,
        )
        assert response.status_code == 201, response.text
        entry = response.json()
        down = await client.post(
            "/diaries/search",
            json={"diaryId": diary_id, "query": "cormorants"},
            headers=alice.auth_headers,
        )
        assert down.json()["searchType"] == "fulltext"
    finally:
        app.dependency_overrides.pop(get_embedder, None)
    await wait_for_vector(engine, entry["id"])
    # The vector is the real model's: a pure vector match (no shared words) finds it.
    found = await client.post(
        "/diaries/search",
        json={"diaryId": diary_id, "query": "seabirds resting by the port"},
        headers=alice.auth_headers,
    )
    body = found.json()
    assert body["searchType"] == "hybrid"
    assert [item["id"] for item in body["results"]] == [entry["id"]]


async def test_an_edit_while_down_is_refilled_with_the_new_content(
    live_app: tuple[FastAPI, httpx.AsyncClient], live_factories: Factories, engine: AsyncEngine
) -> None:
    app, client = live_app
    alice = await live_factories.agent()
    diary_id = await new_diary(client, alice)
    created = await client.post(
        f"/diaries/{diary_id}/entries", json={"content": "first text"}, headers=alice.auth_headers
    )
    entry_id = created.json()["id"]
    assert await vector_state(engine, entry_id) == (True, DEFAULT_MODEL_ID)
    app.dependency_overrides[get_embedder] = DownEmbedder
    try:
        patched = await client.patch(
            f"/entries/{entry_id}",
            json={"content": "Puffins nest in burrows on the cliff top."},
            headers=alice.auth_headers,
        )
        assert patched.status_code == 200, patched.text
    finally:
        app.dependency_overrides.pop(get_embedder, None)
    await wait_for_vector(engine, entry_id)
    found = await client.post(
        "/diaries/search",
        json={"diaryId": diary_id, "query": "seabird colonies on cliffs"},
        headers=alice.auth_headers,
    )
    assert found.json()["results"][0]["id"] == entry_id


async def test_fill_step_is_idempotent_and_ignores_stale_or_missing_entries(
    live_app: tuple[FastAPI, httpx.AsyncClient],
    live_factories: Factories,
    engine: AsyncEngine,
    embedder: OnnxEmbedder,
) -> None:
    _, client = live_app
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    assert await entries.fill_embedding(sessionmaker, embedder, uuid4()) is False
    alice = await live_factories.agent()
    diary_id = await new_diary(client, alice)
    created = await client.post(
        f"/diaries/{diary_id}/entries", json={"content": "gulls"}, headers=alice.auth_headers
    )
    entry_id = UUID(created.json()["id"])
    assert await entries.fill_embedding(sessionmaker, embedder, entry_id) is True  # has one
    assert await entries.fill_embedding(sessionmaker, embedder, entry_id) is True


async def test_reembed_replaces_vectors_of_other_models(
    live_app: tuple[FastAPI, httpx.AsyncClient],
    live_factories: Factories,
    engine: AsyncEngine,
    embedder: OnnxEmbedder,
) -> None:
    _, client = live_app
    alice = await live_factories.agent()
    diary_id = await new_diary(client, alice)
    ids = []
    for index in range(5):
        response = await client.post(
            f"/diaries/{diary_id}/entries",
            json={"content": f"note number {index}"},
            headers=alice.auth_headers,
        )
        ids.append(response.json()["id"])
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE diary_entries SET embedding_model = 'old-model@123' WHERE id = ANY(:ids)"),
            {"ids": [UUID(entry_id) for entry_id in ids[:3]]},
        )
        await connection.execute(
            text(
                "UPDATE diary_entries SET embedding = NULL, embedding_model = NULL WHERE id = :id"
            ),
            {"id": UUID(ids[3])},
        )
    refused = await client.post(
        "/diaries/search", json={"diaryId": diary_id, "query": "note"}, headers=alice.auth_headers
    )
    assert refused.status_code == 503
    progress: list[tuple[int, int]] = []
    done = await entries.reembed_stale(
        async_sessionmaker(engine, expire_on_commit=False),
        embedder,
        batch_size=2,
        progress=lambda finished, total: progress.append((finished, total)),
    )
    assert done == 4
    assert progress == [(2, 4), (4, 4)]
    for entry_id in ids:
        assert await vector_state(engine, entry_id) == (True, DEFAULT_MODEL_ID)
    again = await client.post(
        "/diaries/search", json={"diaryId": diary_id, "query": "note"}, headers=alice.auth_headers
    )
    assert again.status_code == 200
    assert again.json()["total"] == 5


async def parent_tuples(engine: AsyncEngine, entry_id: str) -> list[tuple[str, str]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT subject_namespace, subject_object FROM embedded.relation_tuples "
                "WHERE namespace = 'DiaryEntry' AND object = :id AND relation = 'parent'"
            ),
            {"id": entry_id},
        )
        return [(row[0], row[1]) for row in rows]


async def wait_for_tuples(
    engine: AsyncEngine, entry_id: str, expected: list[tuple[str, str]], *, seconds: float = 20
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await parent_tuples(engine, entry_id) == expected:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"DiaryEntry:{entry_id}#parent never became {expected}")


async def test_create_and_delete_keep_the_parent_tuple_in_step(
    live_app: tuple[FastAPI, httpx.AsyncClient], live_factories: Factories, engine: AsyncEngine
) -> None:
    _, client = live_app
    alice = await live_factories.agent()
    diary_id = await new_diary(client, alice)
    created = await client.post(
        f"/diaries/{diary_id}/entries", json={"content": "terns"}, headers=alice.auth_headers
    )
    entry_id = created.json()["id"]
    await wait_for_tuples(engine, entry_id, [("Diary", diary_id)])
    deleted = await client.delete(f"/entries/{entry_id}", headers=alice.auth_headers)
    assert deleted.json() == {"success": True}
    await wait_for_tuples(engine, entry_id, [])
