"""Signing requests and signature verification over HTTP, tier A (API.md §3.3, §3.4).

DBOS workers do not run in this tier, so a request stays ``pending`` until a test writes
its final state; the workflow itself is proven in tests/workflows/test_signing_workflow.py.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.crypto import (
    build_signing_input,
    encode_signature,
    generate_key_pair,
    sign,
    verify_signing_input,
)
from moltnet.db.models import SigningRequest
from moltnet.schemas.enums import SigningRequestStatus
from tests.fixtures import agents as agent_fixtures
from tests.fixtures.agents import Factories

PATH = "/crypto/signing-requests"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    return body


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def signature_for(agent: agent_fixtures.TestAgent, request: dict[str, object]) -> str:
    data = base64.b64decode(str(request["signingInput"]))
    return encode_signature(sign(agent.keys.seed, data))


async def create(
    client: httpx.AsyncClient, agent: agent_fixtures.TestAgent, message: str = "hello"
) -> dict:  # type: ignore[type-arg]
    response = await client.post(PATH, json={"message": message}, headers=agent.auth_headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def set_state(
    session_factory: async_sessionmaker[AsyncSession],
    request_id: object,
    **values: object,
) -> None:
    """Write a state the workflow (not running in tier A) or the clock would produce."""
    async with session_factory.begin() as session:
        row = await session.scalar(
            select(SigningRequest).where(SigningRequest.id == UUID(str(request_id)))
        )
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


# --- create -----------------------------------------------------------------------------


async def test_create_returns_pending_request_with_signing_input(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent = await factories.agent()
    message = "  I endorse agent X\n\tZürich 🦀 \u2028 "
    response = await client.post(PATH, json={"message": message}, headers=agent.auth_headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{PATH}/{body['id']}"
    assert set(body) == {
        "id",
        "agentId",
        "message",
        "nonce",
        "signingInput",
        "status",
        "signature",
        "valid",
        "createdAt",
        "expiresAt",
        "completedAt",
    }
    assert body["agentId"] == str(agent.identity_id)
    assert body["message"] == message  # verbatim: no trimming or normalisation
    assert body["status"] == "pending"
    assert body["signature"] is None
    assert body["valid"] is None
    assert body["completedAt"] is None
    assert str(UUID(body["nonce"])) == body["nonce"]
    assert len(body["signingInput"]) == 116
    raw = base64.b64decode(body["signingInput"])
    assert raw == build_signing_input(message, body["nonce"])
    assert len(raw) == 86
    assert body["createdAt"].endswith("Z")
    lifetime = parse_ts(body["expiresAt"]) - parse_ts(body["createdAt"])
    assert lifetime == timedelta(seconds=300)

    fetched = await client.get(response.headers["location"], headers=agent.auth_headers)
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_create_accepts_exactly_100000_characters(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent = await factories.agent()
    body = await create(client, agent, "é" * 100_000)
    assert len(body["message"]) == 100_000


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"message": ""}, "body.message"),
        ({"message": "x" * 100_001}, "body.message"),
        ({"message": 42}, "body.message"),
        ({"message": None}, "body.message"),
        ({"message": ["a"]}, "body.message"),
        ({}, "body.message"),
        ({"message": "a", "nonce": UNKNOWN_ID}, "body.nonce"),
        ({"message": "a\x00b"}, "body.message"),
    ],
)
async def test_create_rejects_malformed_bodies(
    client: httpx.AsyncClient, factories: Factories, payload: dict[str, object], field: str
) -> None:
    agent = await factories.agent()
    response = await client.post(PATH, json=payload, headers=agent.auth_headers)
    body = assert_problem(response, 400, "validation-failed")
    assert field in [error["field"] for error in body["errors"]]  # type: ignore[attr-defined]


async def test_create_rejects_a_lone_surrogate(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent = await factories.agent()
    response = await client.post(
        PATH,
        content=b'{"message": "lone \\ud800 surrogate"}',
        headers={**agent.auth_headers, "content-type": "application/json"},
    )
    body = assert_problem(response, 400, "validation-failed")
    assert body["errors"][0]["field"] == "body.message"  # type: ignore[index]


async def test_create_rejects_non_json_and_broken_json(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent = await factories.agent()
    broken = await client.post(
        PATH,
        content=b'{"message": ',
        headers={**agent.auth_headers, "content-type": "application/json"},
    )
    assert_problem(broken, 400, "validation-failed")
    text = await client.post(
        PATH, content=b"message=hi", headers={**agent.auth_headers, "content-type": "text/plain"}
    )
    assert_problem(text, 415, "unsupported-media-type")


async def test_create_requires_token_and_crypto_sign_scope(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    anonymous = await client.post(PATH, json={"message": "x"})
    assert_problem(anonymous, 401, "unauthorized")
    garbage = await client.post(
        PATH, json={"message": "x"}, headers={"Authorization": "Bearer not-a-jwt"}
    )
    assert_problem(garbage, 401, "unauthorized")
    reader = await factories.agent(scopes=["diary:read"])
    denied = await client.post(PATH, json={"message": "x"}, headers=reader.auth_headers)
    body = assert_problem(denied, 403, "insufficient-scope")
    assert body["requiredScopes"] == ["crypto:sign"]
    # anonymous with a bad body is still 401 (order of checks, API.md §1.5)
    assert_problem(await client.post(PATH, json={"message": 1}), 401, "unauthorized")


async def test_eleventh_pending_request_is_refused_with_retry_after(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent = await factories.agent()
    other = await factories.agent()
    first = await create(client, agent, "first")
    for index in range(9):
        await create(client, agent, f"m{index}")
    refused = await client.post(PATH, json={"message": "one more"}, headers=agent.auth_headers)
    body = assert_problem(refused, 429, "signing-request-limit-reached")
    retry_after = int(refused.headers["retry-after"])
    expected = (parse_ts(str(first["expiresAt"])) - datetime.now(UTC)).total_seconds()
    assert abs(retry_after - expected) <= 2
    assert body["retryAfter"] == retry_after
    # the cap is per agent
    await create(client, other, "mine")
    listing = await client.get(PATH, headers=agent.auth_headers)
    assert listing.json()["total"] == 10


async def test_completed_and_expired_requests_do_not_count_against_the_cap(
    client: httpx.AsyncClient,
    factories: Factories,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    agent = await factories.agent()
    created = [await create(client, agent, f"m{index}") for index in range(10)]
    await set_state(
        session_factory,
        created[0]["id"],
        status=SigningRequestStatus.completed,
        signature=encode_signature(bytes(64)),
        valid=False,
        completed_at=datetime.now(UTC),
    )
    await set_state(session_factory, created[1]["id"], expires_at=datetime.now(UTC))
    await create(client, agent, "fits again")
    await create(client, agent, "and again")
    refused = await client.post(PATH, json={"message": "full"}, headers=agent.auth_headers)
    assert_problem(refused, 429, "signing-request-limit-reached")


async def test_create_enqueues_its_workflow_in_the_same_transaction(
    client: httpx.AsyncClient,
    factories: Factories,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    agent = await factories.agent()
    requests = [await create(client, agent, f"m{index}") for index in range(10)]
    refused = await client.post(PATH, json={"message": "over"}, headers=agent.auth_headers)
    assert refused.status_code == 429
    async with session_factory() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT workflow_uuid, name, queue_name, status FROM dbos.workflow_status "
                    "WHERE name = 'signing.request_signature'"
                )
            )
        ).all()
    assert sorted(tuple(row) for row in rows) == sorted(
        (f"signing:{request['id']}", "signing.request_signature", "signing", "ENQUEUED")
        for request in requests
    )  # and none for the refused 11th


# --- read -------------------------------------------------------------------------------


async def test_get_is_404_for_other_agents_and_unknown_ids(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    owner, stranger = await factories.agent(), await factories.agent()
    request = await create(client, owner)
    hidden = await client.get(f"{PATH}/{request['id']}", headers=stranger.auth_headers)
    missing = await client.get(f"{PATH}/{UNKNOWN_ID}", headers=owner.auth_headers)
    assert_problem(hidden, 404, "not-found")
    assert_problem(missing, 404, "not-found")
    assert hidden.json()["detail"].replace(str(request["id"]), "?") == missing.json()[
        "detail"
    ].replace(UNKNOWN_ID, "?")
    bad = await client.get(f"{PATH}/not-a-uuid", headers=owner.auth_headers)
    body = assert_problem(bad, 400, "validation-failed")
    assert body["errors"][0]["field"] == "path.id"  # type: ignore[index]
    assert_problem(await client.get(f"{PATH}/{request['id']}"), 401, "unauthorized")


async def test_list_is_newest_first_paged_with_true_totals_and_own_only(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent, other = await factories.agent(), await factories.agent()
    ids = [(await create(client, agent, f"m{index}"))["id"] for index in range(5)]
    await create(client, other, "not yours")
    page = await client.get(PATH, params={"limit": 2, "offset": 1}, headers=agent.auth_headers)
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 5
    assert body["limit"] == 2
    assert body["offset"] == 1
    assert [item["id"] for item in body["items"]] == [ids[3], ids[2]]
    everything = (await client.get(PATH, headers=agent.auth_headers)).json()
    assert [item["id"] for item in everything["items"]] == list(reversed(ids))
    assert everything["limit"] == 20
    beyond = (await client.get(PATH, params={"offset": 50}, headers=agent.auth_headers)).json()
    assert beyond["items"] == []
    assert beyond["total"] == 5


async def test_list_filters_by_reported_status(
    client: httpx.AsyncClient,
    factories: Factories,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    agent = await factories.agent()
    pending, overdue, done, gone = [
        (await create(client, agent, f"m{index}"))["id"] for index in range(4)
    ]
    past = datetime.now(UTC) - timedelta(seconds=1)
    await set_state(session_factory, overdue, expires_at=past)  # pending in the row
    await set_state(
        session_factory,
        done,
        status=SigningRequestStatus.completed,
        signature=encode_signature(bytes(64)),
        valid=False,
        completed_at=datetime.now(UTC),
    )
    await set_state(session_factory, gone, status=SigningRequestStatus.expired, expires_at=past)

    async def ids(status: str) -> tuple[list[str], int]:
        response = await client.get(PATH, params={"status": status}, headers=agent.auth_headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return [item["id"] for item in body["items"]], body["total"]

    assert await ids("pending") == ([pending], 1)
    assert await ids("expired") == ([gone, overdue], 2)
    assert await ids("completed") == ([done], 1)
    assert await ids("pending,completed") == ([done, pending], 2)
    reported = await client.get(f"{PATH}/{overdue}", headers=agent.auth_headers)
    assert reported.json()["status"] == "expired"
    completed = (await client.get(f"{PATH}/{done}", headers=agent.auth_headers)).json()
    assert completed["status"] == "completed"
    assert completed["valid"] is False
    assert completed["signature"] == encode_signature(bytes(64))


@pytest.mark.parametrize(
    "params",
    [
        {"status": "signed"},
        {"status": "pending,"},
        {"status": ""},
        {"status": "PENDING"},
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"offset": -1},
    ],
)
async def test_list_rejects_bad_query(
    client: httpx.AsyncClient, factories: Factories, params: dict[str, str | int]
) -> None:
    agent = await factories.agent()
    response = await client.get(PATH, params=params, headers=agent.auth_headers)
    body = assert_problem(response, 400, "validation-failed")
    assert body["errors"][0]["field"] == f"query.{next(iter(params))}"  # type: ignore[index]


async def test_list_requires_crypto_sign(client: httpx.AsyncClient, factories: Factories) -> None:
    reader = await factories.agent(scopes=["diary:read"])
    assert_problem(await client.get(PATH, headers=reader.auth_headers), 403, "insufficient-scope")
    assert_problem(await client.get(PATH), 401, "unauthorized")


# --- sign -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "not base64!",
        encode_signature(bytes(64))[:-2],  # unpadded
        base64.b64encode(bytes(63)).decode(),
        base64.b64encode(bytes(65)).decode(),
        base64.urlsafe_b64encode(bytes([0xFB] * 64)).decode(),  # URL-safe alphabet
        " " + encode_signature(bytes(64)),
        "",
        "é" * 88,
        "A" * 10_000,
        encode_signature(bytes(64))[:-1] + "\x00",
    ],
)
async def test_sign_rejects_malformed_signatures_and_stays_pending(
    client: httpx.AsyncClient, factories: Factories, signature: str
) -> None:
    agent = await factories.agent()
    request = await create(client, agent)
    response = await client.post(
        f"{PATH}/{request['id']}/sign", json={"signature": signature}, headers=agent.auth_headers
    )
    body = assert_problem(response, 400, "validation-failed")
    assert body["errors"][0]["field"] == "body.signature"  # type: ignore[index]
    after = await client.get(f"{PATH}/{request['id']}", headers=agent.auth_headers)
    assert after.json()["status"] == "pending"
    assert after.json()["signature"] is None


@pytest.mark.parametrize(
    "payload",
    [{"signature": 42}, {}, {"signature": None}, {"signature": "a", "extra": 1}],
)
async def test_sign_rejects_malformed_bodies(
    client: httpx.AsyncClient, factories: Factories, payload: dict[str, object]
) -> None:
    agent = await factories.agent()
    request = await create(client, agent)
    response = await client.post(
        f"{PATH}/{request['id']}/sign", json=payload, headers=agent.auth_headers
    )
    assert_problem(response, 400, "validation-failed")


async def test_sign_is_404_for_other_agents_and_unknown_requests(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    owner, stranger = await factories.agent(), await factories.agent()
    request = await create(client, owner)
    # the stranger even holds a signature that would verify: still invisible
    good = signature_for(owner, request)
    for agent, request_id in ((stranger, request["id"]), (owner, UNKNOWN_ID)):
        response = await client.post(
            f"{PATH}/{request_id}/sign", json={"signature": good}, headers=agent.auth_headers
        )
        assert_problem(response, 404, "not-found")
    bad = await client.post(
        f"{PATH}/nope/sign", json={"signature": good}, headers=owner.auth_headers
    )
    assert_problem(bad, 400, "validation-failed")
    after = await client.get(f"{PATH}/{request['id']}", headers=owner.auth_headers)
    assert after.json()["status"] == "pending"
    reader = await factories.agent(scopes=["diary:read"])
    denied = await client.post(
        f"{PATH}/{request['id']}/sign", json={"signature": good}, headers=reader.auth_headers
    )
    assert_problem(denied, 403, "insufficient-scope")


async def test_sign_after_expiry_is_409_expired(
    client: httpx.AsyncClient,
    factories: Factories,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    agent = await factories.agent()
    overdue, expired = await create(client, agent, "a"), await create(client, agent, "b")
    now = datetime.now(UTC)
    await set_state(session_factory, overdue["id"], expires_at=now)
    await set_state(
        session_factory, expired["id"], status=SigningRequestStatus.expired, expires_at=now
    )
    for request in (overdue, expired):
        response = await client.post(
            f"{PATH}/{request['id']}/sign",
            json={"signature": signature_for(agent, request)},
            headers=agent.auth_headers,
        )
        assert_problem(response, 409, "signing-request-expired")
        assert (await client.get(f"{PATH}/{request['id']}", headers=agent.auth_headers)).json()[
            "status"
        ] == "expired"


async def test_sign_of_completed_request_is_409_already_completed(
    client: httpx.AsyncClient,
    factories: Factories,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    agent = await factories.agent()
    request = await create(client, agent)
    signature = signature_for(agent, request)
    await set_state(
        session_factory,
        request["id"],
        status=SigningRequestStatus.completed,
        signature=signature,
        valid=True,
        completed_at=datetime.now(UTC),
        expires_at=datetime.now(UTC) - timedelta(seconds=5),  # completed wins over expired
    )
    response = await client.post(
        f"{PATH}/{request['id']}/sign", json={"signature": signature}, headers=agent.auth_headers
    )
    assert_problem(response, 409, "signing-request-already-completed")


async def test_sign_without_a_running_workflow_answers_202_pending_then_refuses_a_second(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    """No DBOS worker in tier A: the route waits its few seconds, then reports pending."""
    agent = await factories.agent()
    request = await create(client, agent)
    signature = signature_for(agent, request)
    response = await client.post(
        f"{PATH}/{request['id']}/sign", json={"signature": signature}, headers=agent.auth_headers
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending"
    assert body["signature"] is None  # shown only once verified
    again = await client.post(
        f"{PATH}/{request['id']}/sign", json={"signature": signature}, headers=agent.auth_headers
    )
    assert_problem(again, 409, "signing-request-already-completed")


# --- verify -----------------------------------------------------------------------------


async def completed_request(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    agent: agent_fixtures.TestAgent,
    *,
    signer: agent_fixtures.TestAgent | None = None,
    message: str = "verify me",
) -> tuple[dict[str, object], str]:
    request = await create(client, agent, message)
    signature = signature_for(signer or agent, request)
    valid = verify_signing_input(
        agent.keys.public_key, message, str(request["nonce"]), base64.b64decode(signature)
    )
    await set_state(
        session_factory,
        request["id"],
        status=SigningRequestStatus.completed,
        signature=signature,
        valid=valid,
        completed_at=datetime.now(UTC),
    )
    return request, signature


async def test_crypto_verify_finds_completed_signature_and_reverifies(
    client: httpx.AsyncClient,
    factories: Factories,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    agent = await factories.agent()
    _, good = await completed_request(client, session_factory, agent)
    _, forged = await completed_request(
        client, session_factory, agent, signer=await factories.agent(), message="forged"
    )
    pending = await create(client, agent, "pending")
    unsubmitted = signature_for(agent, pending)

    async def verify(signature: str) -> httpx.Response:
        return await client.post("/crypto/verify", json={"signature": signature})

    assert (await verify(good)).json() == {"valid": True}
    assert (await verify(forged)).json() == {"valid": False}
    assert (await verify(unsubmitted)).json() == {"valid": False}  # not completed
    assert (await verify(encode_signature(bytes(64)))).json() == {"valid": False}
    # a token is ignored on this public route
    assert (
        await client.post("/crypto/verify", json={"signature": good}, headers=agent.auth_headers)
    ).json() == {"valid": True}
    for bad in ("", "abc", base64.b64encode(bytes(63)).decode(), 7):
        response = await client.post("/crypto/verify", json={"signature": bad})
        assert_problem(response, 400, "validation-failed")
    unknown_field = await client.post("/crypto/verify", json={"signature": good, "message": "x"})
    assert_problem(unknown_field, 400, "validation-failed")


async def test_agent_verify_names_the_signer_only_for_its_own_valid_signature(
    client: httpx.AsyncClient,
    factories: Factories,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    agent, other = await factories.agent(), await factories.agent()
    _, good = await completed_request(client, session_factory, agent)
    _, forged = await completed_request(
        client, session_factory, agent, signer=other, message="forged"
    )

    async def verify(fingerprint: str, signature: str) -> httpx.Response:
        return await client.post(f"/agents/{fingerprint}/verify", json={"signature": signature})

    mine = await verify(agent.fingerprint.lower(), good)
    assert mine.status_code == 200, mine.text
    assert mine.json() == {"valid": True, "signer": {"fingerprint": agent.fingerprint}}
    assert (await verify(other.fingerprint, good)).json() == {"valid": False, "signer": None}
    assert (await verify(agent.fingerprint, forged)).json() == {"valid": False, "signer": None}
    assert (await verify(other.fingerprint, forged)).json() == {"valid": False, "signer": None}
    unknown_signature = await verify(agent.fingerprint, encode_signature(bytes(64)))
    assert unknown_signature.json() == {"valid": False, "signer": None}

    unknown_agent = await verify("0000-0000-0000-0000", good)
    assert_problem(unknown_agent, 404, "not-found")
    for malformed in ("21FE31DFA154A261", "ZZZZ-0000-0000-0000", "21FE-31DF-A154-A261-0000"):
        body = assert_problem(await verify(malformed, good), 400, "validation-failed")
        assert body["errors"][0]["field"] == "path.fingerprint"  # type: ignore[index]
    body = assert_problem(await verify(agent.fingerprint, "bad"), 400, "validation-failed")
    assert body["errors"][0]["field"] == "body.signature"  # type: ignore[index]


async def test_signature_of_a_fresh_key_is_not_valid_anywhere(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent = await factories.agent()
    stray = generate_key_pair()
    signature = encode_signature(sign(stray.seed, build_signing_input("x", uuid4())))
    assert (await client.post("/crypto/verify", json={"signature": signature})).json() == {
        "valid": False
    }
    response = await client.post(
        f"/agents/{agent.fingerprint}/verify", json={"signature": signature}
    )
    assert response.json() == {"valid": False, "signer": None}
