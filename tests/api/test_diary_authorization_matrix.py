"""Who may do what to a diary (API.md §1.4-1.5, §3.5-3.6), cell by cell.

Callers: the owner, an accepted writer, an accepted reader, a pending invitee, a
stranger and anonymous; three visibilities; every diary and share route. Every denied
cell (404) must carry exactly the body of a missing row, apart from ``instance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.api.test_diaries import create_diary
from tests.fixtures.agents import Factories, TestAgent

CALLERS = (
    "anonymous",
    "stranger",
    "pending",
    "reader",
    "writer",
    "owner",
)  # owner last: it mutates


@dataclass
class World:
    diary_id: str
    agents: dict[str, TestAgent]
    target: TestAgent  # who share routes invite or revoke


async def build_world(client: httpx.AsyncClient, factories: Factories, visibility: str) -> World:
    agents = {name: await factories.agent() for name in CALLERS if name != "anonymous"}
    target = await factories.agent()
    owner = agents["owner"]
    diary = await create_diary(client, owner, "matrix", visibility)
    for name, role in (("reader", "reader"), ("writer", "writer"), ("pending", "reader")):
        response = await client.post(
            f"/diaries/{diary['id']}/share",
            json={"fingerprint": agents[name].fingerprint, "role": role},
            headers=owner.auth_headers,
        )
        assert response.status_code == 201
        if name != "pending":
            accepted = await client.post(
                f"/diaries/invitations/{response.json()['id']}/accept",
                headers=agents[name].auth_headers,
            )
            assert accepted.status_code == 200
    # the target holds a pending share, so the owner's revoke has something to revoke
    invited = await client.post(
        f"/diaries/{diary['id']}/share",
        json={"fingerprint": target.fingerprint},
        headers=owner.auth_headers,
    )
    assert invited.status_code == 201
    return World(diary["id"], agents, target)


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str  # {diary} and {fingerprint} are filled in
    body: dict[str, Any] | None = None
    owner_status: int = 200


ROUTES = (
    Route("get diary", "GET", "/diaries/{diary}"),
    Route("patch diary", "PATCH", "/diaries/{diary}", {"name": "renamed"}),
    Route("list shares", "GET", "/diaries/{diary}/share"),
    Route("invite", "POST", "/diaries/{diary}/share", {"fingerprint": "{fresh}"}, 201),
    Route("revoke", "DELETE", "/diaries/{diary}/share/{fingerprint}"),
    Route("delete diary", "DELETE", "/diaries/{diary}"),
)

READ_ROUTES = {"get diary"}


def expected_status(route: Route, visibility: str, caller: str) -> int:
    readable = visibility == "public" or (visibility == "moltnet" and caller != "anonymous")
    readable = readable or caller in ("reader", "writer", "owner")
    if caller == "anonymous":
        if route.name in READ_ROUTES:
            return 200 if visibility == "public" else 401 if visibility == "moltnet" else 404
        return 401  # a token is needed before anything else is looked at
    if not readable:
        return 404
    if route.name in READ_ROUTES:
        return 200
    return route.owner_status if caller == "owner" else 403


async def send(
    client: httpx.AsyncClient,
    route: Route,
    diary_id: str,
    caller: TestAgent | None,
    target: TestAgent,
    fresh: TestAgent,
) -> httpx.Response:
    path = route.path.format(diary=diary_id, fingerprint=target.fingerprint)
    body = None
    if route.body is not None:
        body = {
            key: (fresh.fingerprint if value == "{fresh}" else value)
            for key, value in route.body.items()
        }
    headers = caller.auth_headers if caller is not None else {}
    return await client.request(route.method, path, json=body, headers=headers)


def without_instance(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    body.pop("instance", None)
    return body


@pytest.mark.parametrize("visibility", ["public", "moltnet", "private"])
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
async def test_authorization_matrix(
    client: httpx.AsyncClient, factories: Factories, visibility: str, route: Route
) -> None:
    world = await build_world(client, factories, visibility)
    fresh = await factories.agent()
    mismatches: list[str] = []
    for caller_name in CALLERS:
        caller = world.agents.get(caller_name)
        response = await send(client, route, world.diary_id, caller, world.target, fresh)
        expected = expected_status(route, visibility, caller_name)
        if response.status_code != expected:
            mismatches.append(f"{caller_name}: {response.status_code} != {expected}")
            continue
        if expected == 404:
            # indistinguishable from a diary that does not exist
            missing = await send(client, route, str(uuid4()), caller, world.target, fresh)
            assert missing.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
            if without_instance(response) != without_instance(missing):
                mismatches.append(f"{caller_name}: denied body differs from a missing row's")
            if world.diary_id in str(without_instance(response)):
                mismatches.append(f"{caller_name}: denied body names the diary")
        if expected == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert not mismatches, f"{route.name} on a {visibility} diary:\n" + "\n".join(mismatches)


@pytest.mark.parametrize("visibility", ["public", "moltnet", "private"])
async def test_list_diaries_shows_a_diary_only_to_its_relations(
    client: httpx.AsyncClient, factories: Factories, visibility: str
) -> None:
    world = await build_world(client, factories, visibility)
    for caller_name, expected_role in (
        ("owner", "owner"),
        ("writer", "writer"),
        ("reader", "reader"),
        ("pending", None),
        ("stranger", None),
    ):
        response = await client.get("/diaries", headers=world.agents[caller_name].auth_headers)
        roles = {item["id"]: item["role"] for item in response.json()["items"]}
        assert roles.get(world.diary_id) == expected_role, caller_name
    assert (await client.get("/diaries")).status_code == 401


@pytest.mark.parametrize("visibility", ["public", "moltnet", "private"])
async def test_get_diary_reports_each_callers_role(
    client: httpx.AsyncClient, factories: Factories, visibility: str
) -> None:
    world = await build_world(client, factories, visibility)
    for caller_name in ("owner", "writer", "reader"):
        response = await client.get(
            f"/diaries/{world.diary_id}", headers=world.agents[caller_name].auth_headers
        )
        assert response.json()["role"] == caller_name
    if visibility != "private":
        response = await client.get(
            f"/diaries/{world.diary_id}", headers=world.agents["stranger"].auth_headers
        )
        assert response.json()["role"] is None
