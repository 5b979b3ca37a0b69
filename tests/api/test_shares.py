"""Sharing and invitations (API.md §3.6), through the HTTP API (tier A)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.api.test_diaries import assert_problem, create_diary
from tests.fixtures.agents import Factories, TestAgent


async def invite(
    client: httpx.AsyncClient,
    owner: TestAgent,
    diary_id: str,
    fingerprint: str,
    role: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"fingerprint": fingerprint}
    if role is not None:
        body["role"] = role
    return await client.post(f"/diaries/{diary_id}/share", json=body, headers=owner.auth_headers)


async def test_invite_accept_and_read_a_private_diary(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    diary = await create_diary(client, alice, "secrets")
    response = await invite(client, alice, diary["id"], bob.fingerprint.lower())
    assert response.status_code == 201
    share = response.json()
    assert share["diaryId"] == diary["id"]
    assert share["diaryName"] == "secrets"
    assert share["ownerFingerprint"] == alice.fingerprint
    assert share["sharedWith"] == str(bob.identity_id)
    assert share["sharedWithFingerprint"] == bob.fingerprint
    assert (share["role"], share["status"], share["respondedAt"]) == ("reader", "pending", None)

    # pending grants nothing
    assert_problem(
        await client.get(f"/diaries/{diary['id']}", headers=bob.auth_headers), 404, "not-found"
    )
    invitations = (await client.get("/diaries/invitations", headers=bob.auth_headers)).json()
    assert invitations == {"invitations": [share]}

    accepted = await client.post(
        f"/diaries/invitations/{share['id']}/accept", headers=bob.auth_headers
    )
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["respondedAt"] is not None
    read = await client.get(f"/diaries/{diary['id']}", headers=bob.auth_headers)
    assert read.status_code == 200
    assert read.json()["role"] == "reader"
    assert (await client.get("/diaries/invitations", headers=bob.auth_headers)).json() == {
        "invitations": []
    }
    listed = (await client.get(f"/diaries/{diary['id']}/share", headers=alice.auth_headers)).json()
    assert [(item["id"], item["status"]) for item in listed["shares"]] == [
        (share["id"], "accepted")
    ]


async def test_revoke_denies_at_once_and_reinvite_resets_to_pending(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    diary = await create_diary(client, alice)
    share = (await invite(client, alice, diary["id"], bob.fingerprint, "writer")).json()
    await client.post(f"/diaries/invitations/{share['id']}/accept", headers=bob.auth_headers)
    revoked = await client.delete(
        f"/diaries/{diary['id']}/share/{bob.fingerprint.lower()}", headers=alice.auth_headers
    )
    assert revoked.status_code == 200
    assert revoked.json() == {"success": True}
    assert_problem(
        await client.get(f"/diaries/{diary['id']}", headers=bob.auth_headers), 404, "not-found"
    )
    assert_problem(
        await client.delete(
            f"/diaries/{diary['id']}/share/{bob.fingerprint}", headers=alice.auth_headers
        ),
        404,
        "not-found",
    )
    again = await invite(client, alice, diary["id"], bob.fingerprint, "reader")
    assert again.status_code == 201
    renewed = again.json()
    assert renewed["id"] == share["id"]
    assert (renewed["status"], renewed["role"], renewed["respondedAt"]) == (
        "pending",
        "reader",
        None,
    )
    assert renewed["invitedAt"] >= share["invitedAt"]


async def test_decline_grants_nothing_and_can_be_reinvited(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    diary = await create_diary(client, alice)
    share = (await invite(client, alice, diary["id"], bob.fingerprint)).json()
    declined = await client.post(
        f"/diaries/invitations/{share['id']}/decline", headers=bob.auth_headers
    )
    assert declined.status_code == 200
    assert declined.json()["status"] == "declined"
    assert_problem(
        await client.get(f"/diaries/{diary['id']}", headers=bob.auth_headers), 404, "not-found"
    )
    for action in ("accept", "decline"):
        response = await client.post(
            f"/diaries/invitations/{share['id']}/{action}", headers=bob.auth_headers
        )
        body = assert_problem(response, 409, "conflict")
        assert "declined" in body["detail"]
    assert (await invite(client, alice, diary["id"], bob.fingerprint)).status_code == 201


async def test_duplicate_invitations_conflict(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    diary = await create_diary(client, alice)
    share = (await invite(client, alice, diary["id"], bob.fingerprint)).json()
    assert_problem(await invite(client, alice, diary["id"], bob.fingerprint), 409, "conflict")
    await client.post(f"/diaries/invitations/{share['id']}/accept", headers=bob.auth_headers)
    assert_problem(
        await invite(client, alice, diary["id"], bob.fingerprint, "writer"), 409, "conflict"
    )


async def test_self_share_is_400_and_unknown_agent_is_404(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    diary = await create_diary(client, alice)
    body = assert_problem(
        await invite(client, alice, diary["id"], alice.fingerprint.lower()),
        400,
        "validation-failed",
    )
    assert body["errors"][0]["field"] == "body.fingerprint"
    body = assert_problem(
        await invite(client, alice, diary["id"], "0000-0000-0000-0000"), 404, "not-found"
    )
    assert body["detail"] == "agent not found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.fingerprint"),
        ({"fingerprint": "ABCD"}, "body.fingerprint"),
        ({"fingerprint": "ABCD-EFGH-0000-0000"}, "body.fingerprint"),
        ({"fingerprint": "ABCD-0000-0000-0000\n"}, "body.fingerprint"),
        ({"fingerprint": 12}, "body.fingerprint"),
        ({"fingerprint": "ABCD-0000-0000-0000", "role": "owner"}, "body.role"),
        ({"fingerprint": "ABCD-0000-0000-0000", "note": "hi"}, "body.note"),
    ],
)
async def test_invite_rejects_invalid_bodies(
    client: httpx.AsyncClient, factories: Factories, body: dict[str, Any], field: str
) -> None:
    alice = await factories.agent()
    diary = await create_diary(client, alice)
    response = await client.post(
        f"/diaries/{diary['id']}/share", json=body, headers=alice.auth_headers
    )
    problem = assert_problem(response, 400, "validation-failed")
    assert field in [error["field"] for error in problem["errors"]]


async def test_share_management_is_owner_only(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob, carol = await factories.agent(), await factories.agent(), await factories.agent()
    public = await create_diary(client, alice, "open", "public")
    private = await create_diary(client, alice, "closed")
    for diary, expected in ((public, 403), (private, 404)):
        assert (
            await client.get(f"/diaries/{diary['id']}/share", headers=bob.auth_headers)
        ).status_code == expected
        assert (await invite(client, bob, diary["id"], carol.fingerprint)).status_code == expected
        assert (
            await client.delete(
                f"/diaries/{diary['id']}/share/{carol.fingerprint}", headers=bob.auth_headers
            )
        ).status_code == expected


async def test_invitations_of_others_are_404(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob, eve = await factories.agent(), await factories.agent(), await factories.agent()
    diary = await create_diary(client, alice)
    share = (await invite(client, alice, diary["id"], bob.fingerprint)).json()
    for action in ("accept", "decline"):
        response = await client.post(
            f"/diaries/invitations/{share['id']}/{action}", headers=eve.auth_headers
        )
        assert_problem(response, 404, "not-found")
        response = await client.post(
            f"/diaries/invitations/{uuid4()}/{action}", headers=bob.auth_headers
        )
        assert_problem(response, 404, "not-found")
    response = await client.post("/diaries/invitations/nope/accept", headers=bob.auth_headers)
    body = assert_problem(response, 400, "validation-failed")
    assert body["errors"][0]["field"] == "path.shareId"
    response = await client.post(
        f"/diaries/invitations/{share['id']}/accept", json={"x": 1}, headers=bob.auth_headers
    )
    assert_problem(response, 400, "validation-failed")


async def test_revoke_with_a_malformed_fingerprint_is_400(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    diary = await create_diary(client, alice)
    response = await client.delete(
        f"/diaries/{diary['id']}/share/not-a-print", headers=alice.auth_headers
    )
    body = assert_problem(response, 400, "validation-failed")
    assert body["errors"][0]["field"] == "path.fingerprint"


async def test_share_routes_need_the_share_scope(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    no_share = await factories.agent(scopes=["diary:read", "diary:write"])
    for method, path in (
        ("GET", "/diaries/invitations"),
        ("GET", f"/diaries/{uuid4()}/share"),
        ("POST", f"/diaries/invitations/{uuid4()}/accept"),
    ):
        response = await client.request(method, path, headers=no_share.auth_headers)
        body = assert_problem(response, 403, "insufficient-scope")
        assert body["requiredScopes"] == ["diary:share"]
    assert_problem(await client.get("/diaries/invitations"), 401, "unauthorized")


async def test_invitations_route_wins_over_a_diary_id(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    bob = await factories.agent()
    response = await client.get("/diaries/invitations", headers=bob.auth_headers)
    assert response.status_code == 200
    assert response.json() == {"invitations": []}
