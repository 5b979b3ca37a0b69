"""``keto.*`` workflows (tier B): tuples land after commit, follow the rows whatever the
order the workflows run in, and a revoked share denies before its tuple is gone."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from moltnet.db.models import DiaryEntry
from moltnet.workflows import context as workflow_context
from moltnet.workflows.enqueue import WorkflowName
from tests.fixtures.agents import Factories, TestAgent, TokenMinter

DEADLINE_SECONDS = 15.0

TupleText = tuple[str, str, str, str]  # namespace, object, relation, subject


async def stored_tuples(engine: AsyncEngine) -> set[TupleText]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT namespace, object, relation, subject_namespace || ':' || subject_object "
                "FROM embedded.relation_tuples WHERE namespace IN ('Diary', 'DiaryEntry')"
            )
        )
        return {(row[0], row[1], row[2], row[3]) for row in rows}


async def expected_tuples(engine: AsyncEngine) -> set[TupleText]:
    """What the rows imply (API.md §6): owners, accepted shares, entry parents."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT 'Diary', id::text, 'owner', 'Agent:' || owner_id FROM diaries "
                "UNION ALL SELECT 'Diary', diary_id::text, "
                "CASE role WHEN 'writer' THEN 'writers' ELSE 'readers' END, "
                "'Agent:' || shared_with FROM diary_shares WHERE status = 'accepted' "
                "UNION ALL SELECT 'DiaryEntry', id::text, 'parent', 'Diary:' || diary_id "
                "FROM diary_entries"
            )
        )
        return {(row[0], row[1], row[2], row[3]) for row in rows}


async def keto_workflows_unfinished(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            (
                await connection.execute(
                    text(
                        "SELECT count(*) FROM dbos.workflow_status "
                        "WHERE name LIKE 'keto.%' AND status NOT IN ('SUCCESS', 'ERROR')"
                    )
                )
            ).scalar_one()
        )


async def keto_workflows_failed(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            (
                await connection.execute(
                    text(
                        "SELECT count(*) FROM dbos.workflow_status "
                        "WHERE name LIKE 'keto.%' AND status <> 'SUCCESS' "
                        "AND status NOT IN ('ENQUEUED', 'PENDING')"
                    )
                )
            ).scalar_one()
        )


async def wait_until_tuples_match_rows(engine: AsyncEngine) -> None:
    """Poll until every keto workflow finished and the tuples equal what the rows imply."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while loop.time() < deadline:
        if await keto_workflows_unfinished(engine) == 0:
            stored, expected = await stored_tuples(engine), await expected_tuples(engine)
            if stored == expected:
                assert await keto_workflows_failed(engine) == 0
                return
        await asyncio.sleep(0.05)
    stored, expected = await stored_tuples(engine), await expected_tuples(engine)
    raise AssertionError(
        f"tuples never matched the rows: orphans {stored - expected}, missing {expected - stored}"
    )


@pytest.fixture
async def live(
    live_app: tuple[FastAPI, httpx.AsyncClient], engine: AsyncEngine, minter: TokenMinter
) -> tuple[httpx.AsyncClient, Factories]:
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    return live_app[1], Factories(sessionmaker, minter)


async def create(client: httpx.AsyncClient, agent: TestAgent, visibility: str = "private") -> str:
    response = await client.post(
        "/diaries", json={"name": "d", "visibility": visibility}, headers=agent.auth_headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_owner_grant_lands_and_the_diary_is_readable_before_it(
    live: tuple[httpx.AsyncClient, Factories], engine: AsyncEngine
) -> None:
    client, factories = live
    alice = await factories.agent()
    diary_id = await create(client, alice)
    # read-your-writes: decided from the row, whether or not the grant has run yet
    assert (await client.get(f"/diaries/{diary_id}", headers=alice.auth_headers)).status_code == 200
    await wait_until_tuples_match_rows(engine)
    assert ("Diary", diary_id, "owner", f"Agent:{alice.identity_id}") in await stored_tuples(engine)


async def test_share_lifecycle_keeps_tuples_in_line_and_revoke_denies_at_once(
    live: tuple[httpx.AsyncClient, Factories], engine: AsyncEngine
) -> None:
    client, factories = live
    alice, bob = await factories.agent(), await factories.agent()
    diary_id = await create(client, alice)
    share = await client.post(
        f"/diaries/{diary_id}/share",
        json={"fingerprint": bob.fingerprint, "role": "writer"},
        headers=alice.auth_headers,
    )
    share_id = share.json()["id"]
    accepted = await client.post(
        f"/diaries/invitations/{share_id}/accept", headers=bob.auth_headers
    )
    assert accepted.status_code == 200
    assert (await client.get(f"/diaries/{diary_id}", headers=bob.auth_headers)).status_code == 200
    await wait_until_tuples_match_rows(engine)
    writer = ("Diary", diary_id, "writers", f"Agent:{bob.identity_id}")
    assert writer in await stored_tuples(engine)

    revoked = await client.delete(
        f"/diaries/{diary_id}/share/{bob.fingerprint}", headers=alice.auth_headers
    )
    assert revoked.status_code == 200
    # the very next request is denied, whatever the state of keto.revoke_share
    assert (await client.get(f"/diaries/{diary_id}", headers=bob.auth_headers)).status_code == 404
    await wait_until_tuples_match_rows(engine)
    assert writer not in await stored_tuples(engine)

    # re-invite as reader and accept: a new event, a new workflow id, a reader tuple only
    await client.post(
        f"/diaries/{diary_id}/share",
        json={"fingerprint": bob.fingerprint, "role": "reader"},
        headers=alice.auth_headers,
    )
    again = await client.post(f"/diaries/invitations/{share_id}/accept", headers=bob.auth_headers)
    assert again.status_code == 200
    await wait_until_tuples_match_rows(engine)
    tuples = await stored_tuples(engine)
    assert ("Diary", diary_id, "readers", f"Agent:{bob.identity_id}") in tuples
    assert writer not in tuples


async def test_deleting_a_diary_removes_its_tuples_and_its_entries_tuples(
    live: tuple[httpx.AsyncClient, Factories], engine: AsyncEngine
) -> None:
    client, factories = live
    alice, bob = await factories.agent(), await factories.agent()
    diary_id = await create(client, alice)
    share = await client.post(
        f"/diaries/{diary_id}/share",
        json={"fingerprint": bob.fingerprint},
        headers=alice.auth_headers,
    )
    await client.post(f"/diaries/invitations/{share.json()['id']}/accept", headers=bob.auth_headers)
    deps = workflow_context.current()
    entry_id = uuid4()
    async with deps.sessionmaker.begin() as session:
        session.add(
            DiaryEntry(
                id=entry_id,
                diary_id=diary_id,
                author_id=alice.identity_id,
                content="remember",
                content_hash="bafy-test",
            )
        )
        await session.flush()
        await deps.enqueuer.enqueue(
            session,
            WorkflowName.keto_grant_entry_parent,
            str(entry_id),
            diary_id,
            workflow_id=f"keto:grant-entry-parent:{entry_id}",
        )
    await wait_until_tuples_match_rows(engine)
    assert ("DiaryEntry", str(entry_id), "parent", f"Diary:{diary_id}") in await stored_tuples(
        engine
    )

    response = await client.delete(f"/diaries/{diary_id}", headers=alice.auth_headers)
    assert response.status_code == 200
    await wait_until_tuples_match_rows(engine)
    assert await stored_tuples(engine) == set()


async def test_workflows_of_one_diary_converge_in_any_order(
    live: tuple[httpx.AsyncClient, Factories], engine: AsyncEngine
) -> None:
    """Create-then-delete at once: the owner grant may run after the removal."""
    client, factories = live
    alice, bob = await factories.agent(), await factories.agent()
    for _ in range(10):
        diary_id = await create(client, alice)
        share = await client.post(
            f"/diaries/{diary_id}/share",
            json={"fingerprint": bob.fingerprint},
            headers=alice.auth_headers,
        )
        await client.post(
            f"/diaries/invitations/{share.json()['id']}/accept", headers=bob.auth_headers
        )
        assert (
            await client.delete(f"/diaries/{diary_id}", headers=alice.auth_headers)
        ).status_code == 200
    await wait_until_tuples_match_rows(engine)
    assert await stored_tuples(engine) == set()


async def test_twenty_parallel_accepts_and_revokes_end_consistent(
    live: tuple[httpx.AsyncClient, Factories], engine: AsyncEngine
) -> None:
    client, factories = live
    alice, bob = await factories.agent(), await factories.agent()
    diary_id = await create(client, alice)
    share = await client.post(
        f"/diaries/{diary_id}/share",
        json={"fingerprint": bob.fingerprint, "role": "writer"},
        headers=alice.auth_headers,
    )
    share_id = share.json()["id"]
    accept = f"/diaries/invitations/{share_id}/accept"
    revoke = f"/diaries/{diary_id}/share/{bob.fingerprint}"
    requests = [client.post(accept, headers=bob.auth_headers) for _ in range(10)] + [
        client.delete(revoke, headers=alice.auth_headers) for _ in range(10)
    ]
    responses = await asyncio.gather(*requests)
    accepts = sorted(response.status_code for response in responses[:10])
    revokes = sorted(response.status_code for response in responses[10:])
    assert accepts.count(200) <= 1
    assert set(accepts) <= {200, 409}
    assert revokes.count(200) == 1  # the first revoke wins; the share is then gone
    assert set(revokes) <= {200, 404}
    listed = await client.get(f"/diaries/{diary_id}/share", headers=alice.auth_headers)
    assert [item["status"] for item in listed.json()["shares"]] == ["revoked"]
    assert (await client.get(f"/diaries/{diary_id}", headers=bob.auth_headers)).status_code == 404
    await wait_until_tuples_match_rows(engine)

    # and 20 parallel accepts of a fresh invitation: exactly one wins, its grant lands once
    await client.post(
        f"/diaries/{diary_id}/share",
        json={"fingerprint": bob.fingerprint, "role": "reader"},
        headers=alice.auth_headers,
    )
    responses = await asyncio.gather(
        *[client.post(accept, headers=bob.auth_headers) for _ in range(20)]
    )
    codes = sorted(response.status_code for response in responses)
    assert codes == [200] + [409] * 19
    await wait_until_tuples_match_rows(engine)
    assert ("Diary", diary_id, "readers", f"Agent:{bob.identity_id}") in await stored_tuples(engine)


async def test_register_agent_writes_the_self_tuple(
    live: tuple[httpx.AsyncClient, Factories], engine: AsyncEngine
) -> None:
    deps = workflow_context.current()
    agent_id = uuid4()
    async with deps.sessionmaker.begin() as session:
        await deps.enqueuer.enqueue(
            session,
            WorkflowName.keto_register_agent,
            str(agent_id),
            workflow_id=f"keto:register-agent:{agent_id}",
        )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    query = text(
        "SELECT count(*) FROM embedded.relation_tuples "
        "WHERE namespace = 'Agent' AND object = :id AND relation = 'self'"
    )
    while loop.time() < deadline:
        async with engine.connect() as connection:
            landed = (await connection.execute(query, {"id": str(agent_id)})).scalar_one() == 1
        if landed and await keto_workflows_unfinished(engine) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("Agent#self never landed")
