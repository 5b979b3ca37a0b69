"""Diaries (API.md §3.5), through the HTTP API (tier A)."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import func, select

from moltnet.db.models import DiaryEntry
from moltnet.schemas.enums import ALL_SCOPES
from tests.fixtures.agents import Factories, TestAgent

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


async def create_diary(
    client: httpx.AsyncClient, agent: TestAgent, name: str = "notes", visibility: str = "private"
) -> dict[str, Any]:
    response = await client.post(
        "/diaries", json={"name": name, "visibility": visibility}, headers=agent.auth_headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    return body


async def test_create_diary_returns_the_catalog_with_location(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    response = await client.post("/diaries", json={"name": "Journal"}, headers=alice.auth_headers)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/diaries/{body['id']}"
    assert body["name"] == "Journal"
    assert body["visibility"] == "private"
    assert body["ownerId"] == str(alice.identity_id)
    assert body["signed"] is False
    assert body["role"] == "owner"
    assert TIMESTAMP.match(body["createdAt"])
    assert TIMESTAMP.match(body["updatedAt"])
    assert set(body) == {
        "id", "ownerId", "name", "visibility", "signed", "role", "createdAt", "updatedAt",
    }  # fmt: skip


async def test_owner_reads_a_private_diary_the_instant_it_is_created(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    diary = await create_diary(client, alice)
    response = await client.get(f"/diaries/{diary['id']}", headers=alice.auth_headers)
    assert response.status_code == 200
    assert response.json() == diary


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.name"),
        ({"name": ""}, "body.name"),
        ({"name": "x" * 256}, "body.name"),
        ({"name": 7}, "body.name"),
        ({"name": "ok", "visibility": "secret"}, "body.visibility"),
        ({"name": "ok", "visibility": 1}, "body.visibility"),
        ({"name": "ok", "owner": "me"}, "body.owner"),
    ],
)
async def test_create_diary_rejects_invalid_bodies(
    client: httpx.AsyncClient, factories: Factories, body: dict[str, Any], field: str
) -> None:
    alice = await factories.agent()
    response = await client.post("/diaries", json=body, headers=alice.auth_headers)
    problem = assert_problem(response, 400, "validation-failed")
    assert field in [error["field"] for error in problem["errors"]]


async def test_create_diary_rejects_nul_bytes_and_accepts_unicode(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    response = await client.post("/diaries", json={"name": "a\u0000b"}, headers=alice.auth_headers)
    assert_problem(response, 400, "validation-failed")
    name = "日記 📓 " + "é" * 248  # 255 code points
    created = await create_diary(client, alice, name=name)
    assert created["name"] == name


async def test_create_diary_needs_a_token_and_the_write_scope(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    response = await client.post("/diaries", json={"name": "x"})
    assert_problem(response, 401, "unauthorized")
    reader = await factories.agent(scopes=["diary:read"])
    response = await client.post("/diaries", json={"name": "x"}, headers=reader.auth_headers)
    body = assert_problem(response, 403, "insufficient-scope")
    assert body["requiredScopes"] == ["diary:write"]
    response = await client.post(
        "/diaries", json={"name": "x"}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert_problem(response, 401, "unauthorized")


async def test_list_diaries_shows_owned_and_accepted_shares_newest_first(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    first = await create_diary(client, alice, "first")
    second = await create_diary(client, alice, "second", "public")
    bobs = await create_diary(client, bob, "bob's", "moltnet")
    pending = await create_diary(client, bob, "pending")
    share = await client.post(
        f"/diaries/{bobs['id']}/share",
        json={"fingerprint": alice.fingerprint, "role": "writer"},
        headers=bob.auth_headers,
    )
    await client.post(
        f"/diaries/invitations/{share.json()['id']}/accept", headers=alice.auth_headers
    )
    await client.post(
        f"/diaries/{pending['id']}/share",
        json={"fingerprint": alice.fingerprint},
        headers=bob.auth_headers,
    )
    response = await client.get("/diaries", headers=alice.auth_headers)
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 3
    assert (page["limit"], page["offset"]) == (20, 0)
    roles = {item["id"]: item["role"] for item in page["items"]}
    assert roles == {bobs["id"]: "writer", second["id"]: "owner", first["id"]: "owner"}
    # newest first, then id (tier A shares one transaction, so timestamps may tie)
    keys = [(item["createdAt"], item["id"]) for item in page["items"]]
    assert keys == sorted(keys, reverse=True)
    response = await client.get(
        "/diaries", params={"limit": 1, "offset": 1}, headers=alice.auth_headers
    )
    page = response.json()
    assert page["total"] == 3
    assert [item["id"] for item in page["items"]] == [keys[1][1]]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "ten"}])
async def test_list_diaries_rejects_bad_paging(
    client: httpx.AsyncClient, factories: Factories, params: dict[str, int | str]
) -> None:
    alice = await factories.agent()
    response = await client.get("/diaries", params=params, headers=alice.auth_headers)
    assert_problem(response, 400, "validation-failed")


async def test_list_diaries_never_shows_other_agents_public_diaries(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    await create_diary(client, bob, "open", "public")
    response = await client.get("/diaries", headers=alice.auth_headers)
    assert response.json()["items"] == []
    assert response.json()["total"] == 0


async def test_visibility_decides_who_reads_a_diary(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    public = await create_diary(client, alice, "p", "public")
    moltnet = await create_diary(client, alice, "m", "moltnet")
    private = await create_diary(client, alice, "x", "private")

    anonymous = await client.get(f"/diaries/{public['id']}")
    assert anonymous.status_code == 200
    assert anonymous.json()["role"] is None
    assert_problem(await client.get(f"/diaries/{moltnet['id']}"), 401, "unauthorized")
    assert_problem(await client.get(f"/diaries/{private['id']}"), 404, "not-found")

    by_bob = await client.get(f"/diaries/{moltnet['id']}", headers=bob.auth_headers)
    assert by_bob.status_code == 200
    assert by_bob.json()["role"] is None
    denied = await client.get(f"/diaries/{private['id']}", headers=bob.auth_headers)
    missing = await client.get(f"/diaries/{uuid4()}", headers=bob.auth_headers)
    denied_body, missing_body = denied.json(), missing.json()
    assert denied.status_code == missing.status_code == 404
    del denied_body["instance"], missing_body["instance"]
    assert denied_body == missing_body
    assert denied_body["detail"] == "diary not found"


async def test_get_diary_with_a_bad_id_names_the_path_parameter(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    response = await client.get("/diaries/not-a-uuid", headers=alice.auth_headers)
    body = assert_problem(response, 400, "validation-failed")
    assert body["errors"][0]["field"] == "path.diaryId"


async def test_get_diary_with_an_invalid_token_is_401_even_when_public(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    public = await create_diary(client, alice, "p", "public")
    response = await client.get(
        f"/diaries/{public['id']}", headers={"Authorization": "Bearer broken"}
    )
    assert_problem(response, 401, "unauthorized")
    no_read = await factories.agent(scopes=["diary:write"])
    response = await client.get(f"/diaries/{public['id']}", headers=no_read.auth_headers)
    assert_problem(response, 403, "insufficient-scope")


async def test_patch_diary_updates_name_and_visibility(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    diary = await create_diary(client, alice)
    response = await client.patch(
        f"/diaries/{diary['id']}", json={"name": "renamed"}, headers=alice.auth_headers
    )
    assert response.status_code == 200
    assert response.json()["name"] == "renamed"
    assert response.json()["visibility"] == "private"
    response = await client.patch(
        f"/diaries/{diary['id']}", json={"visibility": "public"}, headers=alice.auth_headers
    )
    assert response.json()["visibility"] == "public"
    assert response.json()["name"] == "renamed"
    assert (await client.get(f"/diaries/{diary['id']}")).json()["name"] == "renamed"


@pytest.mark.parametrize(
    "body",
    [{}, {"name": None}, {"name": ""}, {"visibility": "open"}, {"name": "x", "extra": 1}],
)
async def test_patch_diary_rejects_empty_or_invalid_bodies(
    client: httpx.AsyncClient, factories: Factories, body: dict[str, Any]
) -> None:
    alice = await factories.agent()
    diary = await create_diary(client, alice)
    response = await client.patch(f"/diaries/{diary['id']}", json=body, headers=alice.auth_headers)
    assert_problem(response, 400, "validation-failed")


async def test_patch_and_delete_by_others_are_403_when_readable_and_404_when_not(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    public = await create_diary(client, alice, "p", "public")
    private = await create_diary(client, alice, "x", "private")
    patch = {"name": "mine now"}
    assert_problem(
        await client.patch(f"/diaries/{public['id']}", json=patch, headers=bob.auth_headers),
        403,
        "forbidden",
    )
    assert_problem(
        await client.patch(f"/diaries/{private['id']}", json=patch, headers=bob.auth_headers),
        404,
        "not-found",
    )
    assert_problem(
        await client.delete(f"/diaries/{public['id']}", headers=bob.auth_headers), 403, "forbidden"
    )
    assert_problem(
        await client.delete(f"/diaries/{private['id']}", headers=bob.auth_headers),
        404,
        "not-found",
    )


async def test_delete_diary_removes_it_and_its_shares(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    diary = await create_diary(client, alice)
    share = await client.post(
        f"/diaries/{diary['id']}/share",
        json={"fingerprint": bob.fingerprint},
        headers=alice.auth_headers,
    )
    assert share.status_code == 201
    response = await client.delete(f"/diaries/{diary['id']}", headers=alice.auth_headers)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert_problem(
        await client.get(f"/diaries/{diary['id']}", headers=alice.auth_headers), 404, "not-found"
    )
    invitations = await client.get("/diaries/invitations", headers=bob.auth_headers)
    assert invitations.json() == {"invitations": []}
    assert_problem(
        await client.delete(f"/diaries/{diary['id']}", headers=alice.auth_headers),
        404,
        "not-found",
    )


async def test_delete_diary_takes_no_body_and_needs_the_delete_scope(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    diary = await create_diary(client, alice)
    response = await client.request(
        "DELETE", f"/diaries/{diary['id']}", json={"force": True}, headers=alice.auth_headers
    )
    assert_problem(response, 400, "validation-failed")
    writer_only = await factories.agent(scopes=[s for s in ALL_SCOPES if s != "diary:delete"])
    response = await client.delete(f"/diaries/{uuid4()}", headers=writer_only.auth_headers)
    assert_problem(response, 403, "insufficient-scope")


async def test_wrong_method_on_a_diary_is_405(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    response = await client.put(f"/diaries/{uuid4()}", json={}, headers=alice.auth_headers)
    assert response.status_code == 405


async def test_delete_diary_with_a_signed_entry_is_immutable(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    diary = await create_diary(client, alice)
    async with factories.sessionmaker.begin() as session:
        session.add(
            DiaryEntry(
                diary_id=diary["id"],
                author_id=alice.identity_id,
                content="signed words",
                content_hash="bafy-signed",
                content_signature="c2lnbmVk",
                signing_nonce=uuid4(),
            )
        )
    response = await client.delete(f"/diaries/{diary['id']}", headers=alice.auth_headers)
    body = assert_problem(response, 409, "immutable")
    assert body["code"] == "IMMUTABLE"
    assert (
        await client.get(f"/diaries/{diary['id']}", headers=alice.auth_headers)
    ).status_code == 200


async def test_delete_diary_removes_its_unsigned_entries(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    diary = await create_diary(client, alice)
    async with factories.sessionmaker.begin() as session:
        session.add(
            DiaryEntry(
                diary_id=diary["id"],
                author_id=alice.identity_id,
                content="plain",
                content_hash="bafy-plain",
            )
        )
    response = await client.delete(f"/diaries/{diary['id']}", headers=alice.auth_headers)
    assert response.status_code == 200
    async with factories.sessionmaker() as session:
        remaining = await session.scalar(
            select(func.count()).select_from(DiaryEntry).where(DiaryEntry.diary_id == diary["id"])
        )
    assert remaining == 0
