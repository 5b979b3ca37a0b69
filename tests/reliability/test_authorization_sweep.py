"""Broken object-level authorization sweep (OWASP API1), generated from the route table.

Every mounted route with a path parameter must have a row in ``EXPECTED``: a new route
without one fails ``test_every_id_route_has_a_sweep_case``. For each row, a stranger (a
valid token with every scope, but no relation) and an anonymous caller try the owner's
objects, on a ``private`` diary and on a ``moltnet`` one (readable by any agent, API.md
§1.4). A denied read must be indistinguishable from a missing object: its 404 body
equals the body for random ids, apart from ``instance``.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from moltnet.crypto import generate_key_pair
from tests.fixtures.agents import Factories, TestAgent

PARAMETER = re.compile(r"\{(\w+)\}")
SIGNATURE = base64.b64encode(bytes(64)).decode()  # well-formed, verifies nothing


@dataclass(frozen=True)
class Case:
    """Expected statuses for (stranger, anonymous) per diary visibility.

    ``private``/``moltnet``: the statuses on the owner's private / moltnet diary. Routes that
    do not depend on a diary use the same pair for both. ``body``: a valid request body (a
    body that fails validation would be answered 400 before the 404, API.md §1.5).
    """

    private: tuple[int, int]
    moltnet: tuple[int, int]
    body: dict[str, Any] | None = None
    object_route: bool = True  # False: the parameter names no owned object (public lookups)


def same(stranger: int, anonymous: int, **extra: Any) -> Case:
    return Case((stranger, anonymous), (stranger, anonymous), **extra)


EXPECTED: dict[tuple[str, str], Case] = {
    # public lookups by a public name: every caller sees the same answer
    ("GET", "/problems/{slug}"): same(200, 200, object_route=False),
    ("GET", "/agents/{fingerprint}"): same(200, 200, object_route=False),
    ("POST", "/agents/{fingerprint}/verify"): same(
        200, 200, body={"signature": SIGNATURE}, object_route=False
    ),
    # signing requests: other agents' requests are 404 (API.md §3.4)
    ("GET", "/crypto/signing-requests/{id}"): same(404, 401),
    ("POST", "/crypto/signing-requests/{id}/sign"): same(404, 401, body={"signature": SIGNATURE}),
    # invitations belong to the invitee only
    ("POST", "/diaries/invitations/{shareId}/accept"): same(404, 401),
    ("POST", "/diaries/invitations/{shareId}/decline"): same(404, 401),
    # share management: owner only; 403 for those who can read, 404 for the others
    ("GET", "/diaries/{diaryId}/share"): Case((404, 401), (403, 401)),
    ("POST", "/diaries/{diaryId}/share"): Case(
        (404, 401), (403, 401), body={"fingerprint": "{target}"}
    ),
    ("DELETE", "/diaries/{diaryId}/share/{fingerprint}"): Case((404, 401), (403, 401)),
    # the diary itself: read is opt-in auth, manage needs ownership
    ("GET", "/diaries/{diaryId}"): Case((404, 404), (200, 401)),
    ("PATCH", "/diaries/{diaryId}"): Case((404, 401), (403, 401), body={"name": "taken"}),
    ("DELETE", "/diaries/{diaryId}"): Case((404, 401), (403, 401)),
    # entries
    ("POST", "/diaries/{diaryId}/entries"): Case(
        (404, 401), (403, 401), body={"content": "written by a stranger"}
    ),
    ("GET", "/diaries/{diaryId}/entries"): Case((404, 404), (200, 401)),
    ("GET", "/entries/{entryId}"): Case((404, 404), (200, 401)),
    ("GET", "/entries/{entryId}/verify"): Case((404, 404), (200, 401)),
    ("PATCH", "/entries/{entryId}"): Case((404, 401), (403, 401), body={"title": "taken"}),
    ("DELETE", "/entries/{entryId}"): Case((404, 401), (403, 401)),
    ("GET", "/diaries/{diaryId}/entries/{entryId}"): Case((404, 404), (200, 401)),
    ("PATCH", "/diaries/{diaryId}/entries/{entryId}"): Case(
        (404, 401), (403, 401), body={"title": "taken"}
    ),
    ("DELETE", "/diaries/{diaryId}/entries/{entryId}"): Case((404, 401), (403, 401)),
    # only public diaries' entries are published, whoever asks
    ("GET", "/public/entry/{entryId}"): same(404, 404),
}


def id_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every mounted route whose path has a parameter."""
    routes: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path
        if path is None or not PARAMETER.search(path):
            continue
        for method in route.methods or {"GET"}:
            if method != "HEAD":
                routes.add((method, path))
    return routes


@dataclass
class World:
    owner: TestAgent
    stranger: TestAgent
    invitee: TestAgent  # holds a pending invitation to the diary
    diary_id: str
    entry_id: str
    share_id: str
    signing_request_id: str
    stranger_diary_id: str


async def build_world(client: httpx.AsyncClient, factories: Factories, visibility: str) -> World:
    owner = await factories.agent()
    stranger = await factories.agent()
    invitee = await factories.agent()

    async def post(agent: TestAgent, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(path, json=body, headers=agent.auth_headers)
        assert response.status_code == 201, f"{path}: {response.status_code} {response.text}"
        created: dict[str, Any] = response.json()
        return created

    diary = await post(owner, "/diaries", {"name": "victim", "visibility": visibility})
    entry = await post(owner, f"/diaries/{diary['id']}/entries", {"content": "a secret note"})
    share = await post(owner, f"/diaries/{diary['id']}/share", {"fingerprint": invitee.fingerprint})
    request = await post(owner, "/crypto/signing-requests", {"message": "sign me"})
    own = await post(stranger, "/diaries", {"name": "mine", "visibility": "private"})
    return World(
        owner=owner,
        stranger=stranger,
        invitee=invitee,
        diary_id=diary["id"],
        entry_id=entry["id"],
        share_id=share["id"],
        signing_request_id=request["id"],
        stranger_diary_id=own["id"],
    )


def fill(path: str, values: dict[str, str]) -> str:
    return PARAMETER.sub(lambda match: values[match.group(1)], path)


def real_values(world: World) -> dict[str, str]:
    return {
        "slug": "not-found",
        "fingerprint": world.invitee.fingerprint,
        "id": world.signing_request_id,
        "shareId": world.share_id,
        "diaryId": world.diary_id,
        "entryId": world.entry_id,
    }


def random_values(world: World) -> dict[str, str]:
    unknown = generate_key_pair().public_key.fingerprint
    return {
        "slug": "not-found",
        "fingerprint": unknown,
        "id": str(uuid4()),
        "shareId": str(uuid4()),
        "diaryId": str(uuid4()),
        "entryId": str(uuid4()),
    }


def concrete_body(case: Case, world: World) -> dict[str, Any] | None:
    if case.body is None:
        return None
    return {
        key: (world.invitee.fingerprint if value == "{target}" else value)
        for key, value in case.body.items()
    }


async def send(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    caller: TestAgent | None,
) -> httpx.Response:
    headers = caller.auth_headers if caller is not None else {}
    return await client.request(method, path, json=body, headers=headers)


def without_instance(response: httpx.Response, *echoed: str) -> dict[str, Any]:
    """The body without ``instance`` (the request path), with the ids the caller sent
    (which a detail may echo) replaced by a placeholder."""
    body: dict[str, Any] = response.json()
    body.pop("instance", None)
    for key, value in body.items():
        if isinstance(value, str):
            for text in echoed:
                value = value.replace(text, "<id>")
            body[key] = value
    return body


def test_every_id_route_has_a_sweep_case(tier_a_app: tuple[FastAPI, object]) -> None:
    app, _ = tier_a_app
    mounted = id_routes(app)
    missing = sorted(mounted - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - mounted)
    assert not missing, f"routes with an id and no sweep case (add them to EXPECTED): {missing}"
    assert not stale, f"sweep cases for routes that no longer exist: {stale}"


@pytest.mark.parametrize("visibility", ["private", "moltnet"])
async def test_other_agents_and_anonymous_callers_cannot_reach_owned_objects(
    client: httpx.AsyncClient, factories: Factories, visibility: str
) -> None:
    world = await build_world(client, factories, visibility)
    mismatches: list[str] = []
    for (method, template), case in sorted(EXPECTED.items()):
        expected_pair = case.private if visibility == "private" else case.moltnet
        body = concrete_body(case, world)
        path = fill(template, real_values(world))
        for caller_name, caller, expected in (
            ("stranger", world.stranger, expected_pair[0]),
            ("anonymous", None, expected_pair[1]),
        ):
            response = await send(client, method, path, body, caller)
            label = f"{caller_name} {method} {template} ({visibility})"
            if response.status_code != expected:
                mismatches.append(f"{label}: {response.status_code} != {expected}: {response.text}")
                continue
            if expected >= 400:
                if response.headers.get("content-type") != "application/problem+json":
                    mismatches.append(f"{label}: not a problem document")
                    continue
                named = str(without_instance(response))
                if world.diary_id in named or world.entry_id in named:
                    mismatches.append(f"{label}: the denial names the object")
            if expected == 401 and not response.headers.get("www-authenticate", "").startswith(
                "Bearer"
            ):
                mismatches.append(f"{label}: 401 without a Bearer challenge")
            if expected == 404 and case.object_route:
                # indistinguishable from objects that do not exist
                randoms = random_values(world)
                missing = await send(client, method, fill(template, randoms), body, caller)
                denied_body = without_instance(response, *real_values(world).values())
                missing_body = without_instance(missing, *randoms.values())
                if missing.status_code != 404 or denied_body != missing_body:
                    mismatches.append(
                        f"{label}: denied body {denied_body} differs from a missing "
                        f"object's {missing.status_code} {missing_body}"
                    )
    # nothing the stranger tried changed the owner's objects
    owner_view = await client.get(f"/entries/{world.entry_id}", headers=world.owner.auth_headers)
    assert owner_view.status_code == 200
    assert owner_view.json()["title"] is None
    assert owner_view.json()["content"] == "a secret note"
    diary = await client.get(f"/diaries/{world.diary_id}", headers=world.owner.auth_headers)
    assert diary.json()["name"] == "victim"
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_an_entry_cannot_be_reached_through_the_strangers_own_diary(
    client: httpx.AsyncClient, factories: Factories, method: str
) -> None:
    world = await build_world(client, factories, "private")
    body = {"title": "taken"} if method == "PATCH" else None
    path = f"/diaries/{world.stranger_diary_id}/entries/{world.entry_id}"
    response = await send(client, method, path, body, world.stranger)
    missing = await send(
        client,
        method,
        f"/diaries/{world.stranger_diary_id}/entries/{uuid4()}",
        body,
        world.stranger,
    )
    assert response.status_code == 404, response.text
    assert without_instance(response) == without_instance(missing)


async def test_the_owner_reaches_every_object_the_sweep_uses(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    """The sweep's 404s mean something only if the same paths work for the owner."""
    world = await build_world(client, factories, "private")
    values = real_values(world)
    for template in (
        "/crypto/signing-requests/{id}",
        "/diaries/{diaryId}",
        "/diaries/{diaryId}/share",
        "/diaries/{diaryId}/entries",
        "/entries/{entryId}",
        "/entries/{entryId}/verify",
        "/diaries/{diaryId}/entries/{entryId}",
    ):
        response = await client.get(fill(template, values), headers=world.owner.auth_headers)
        assert response.status_code == 200, f"{template}: {response.text}"
    invitations = await client.get("/diaries/invitations", headers=world.invitee.auth_headers)
    assert [item["id"] for item in invitations.json()["invitations"]] == [world.share_id]
