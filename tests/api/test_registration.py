"""``POST /auth/register`` (API.md §3.9): input rules (tier A) and the full path (tier B)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from moltnet.api.deps import get_sessionmaker
from moltnet.config import IdentitySettings, Settings
from moltnet.crypto import generate_key_pair
from moltnet.db.models import AgentKey, AgentVoucher, Diary, OAuth2Client, RelationTupleRow
from moltnet.main import create_app
from moltnet.schemas.enums import ALL_SCOPES
from tests.fixtures.agents import Factories, TestAgent, TokenMinter
from tests.fixtures.app import http_client, make_settings

VALID_KEY = "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["type"] == f"/problems/{slug}"
    return body


async def voucher_of(client: httpx.AsyncClient, agent: TestAgent) -> str:
    response = await client.post("/vouch", headers=agent.auth_headers)
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


# --- tier A: everything refused before the workflow is enqueued -----------------------


@pytest.mark.parametrize(
    "body",
    [
        {"public_key": VALID_KEY, "publicKey": VALID_KEY, "voucher_code": "a" * 64},
        {"public_key": VALID_KEY, "voucher_code": "a" * 64, "voucherCode": "a" * 64},
        {"public_key": VALID_KEY, "voucher_code": "a" * 64, "extra": 1},
        {"public_key": VALID_KEY},
        {"voucher_code": "a" * 64},
        {},
        {"public_key": 1, "voucher_code": "a" * 64},
        {"public_key": VALID_KEY, "voucher_code": ["a" * 64]},
        {"public_key": VALID_KEY, "voucher_code": "A" * 64},
        {"public_key": VALID_KEY, "voucher_code": "a" * 63},
        {"public_key": VALID_KEY, "voucher_code": "a" * 65},
        {"public_key": VALID_KEY, "voucher_code": "a" * 63 + "\x00"},
        {"public_key": VALID_KEY, "voucher_code": "g" * 64},
        {
            "public_key": "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURp=",
            "voucher_code": "a" * 64,
        },
        {"public_key": "ed25519:" + "A" * 40, "voucher_code": "a" * 64},
        {"public_key": "ed25519:!!!notbase64!!!", "voucher_code": "a" * 64},
        {"public_key": "ed25519:AAAA", "voucher_code": "a" * 64},
        {"public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "voucher_code": "a" * 64},
        {"public_key": "ed25519:" + "é" * 44, "voucher_code": "a" * 64},
        {"public_key": "ed25519:" + "A" * 5000, "voucher_code": "a" * 64},
        {"public_key": VALID_KEY + "\x00", "voucher_code": "a" * 64},
    ],
)
async def test_register_rejects_malformed_bodies(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    assert_problem(await client.post("/auth/register", json=body), 400, "validation-failed")


async def test_register_rejects_non_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register", content=b"public_key=x", headers={"content-type": "text/plain"}
    )
    assert_problem(response, 415, "unsupported-media-type")
    broken = await client.post(
        "/auth/register", content=b"{", headers={"content-type": "application/json"}
    )
    assert_problem(broken, 400, "validation-failed")


async def test_unknown_redeemed_and_expired_vouchers_get_one_identical_answer(
    client: httpx.AsyncClient,
    factories: Factories,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    redeemed, expired = await voucher_of(client, alice), await voucher_of(client, alice)
    async with session_factory.begin() as session:
        await session.execute(
            update(AgentVoucher)
            .where(AgentVoucher.code == redeemed)
            .values(redeemed_by=bob.identity_id, redeemed_at=datetime.now(UTC))
        )
        await session.execute(
            update(AgentVoucher)
            .where(AgentVoucher.code == expired)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    bodies = []
    for code in ("0" * 64, redeemed, expired):
        key = generate_key_pair().public_key.text
        response = await client.post("/auth/register", json={"publicKey": key, "voucherCode": code})
        body = assert_problem(response, 403, "registration-failed")
        body.pop("instance", None)
        bodies.append(body)
    assert bodies[0] == bodies[1] == bodies[2]


async def test_register_with_an_already_registered_key_is_a_conflict(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    code = await voucher_of(client, alice)
    response = await client.post(
        "/auth/register", json={"public_key": alice.public_key, "voucher_code": code}
    )
    assert_problem(response, 409, "conflict")
    active = await client.get("/vouch/active", headers=alice.auth_headers)
    assert [item["code"] for item in active.json()["vouchers"]] == [code]


async def test_register_is_public_and_hidden_nothing(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"]["/auth/register"]["post"]
    assert "security" not in operation


# --- tier B: the workflow runs for real ------------------------------------------------


@pytest.fixture
async def live_factories(engine: AsyncEngine, minter: TokenMinter) -> Factories:
    return Factories(async_sessionmaker(engine, expire_on_commit=False), minter)


async def token_for(client: httpx.AsyncClient, client_id: str, client_secret: str) -> str:
    response = await client.post(
        "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_registration_creates_agent_client_diary_and_redeems_voucher(
    live_app: tuple[FastAPI, httpx.AsyncClient], live_factories: Factories, engine: AsyncEngine
) -> None:
    _, client = live_app
    sponsor = await live_factories.agent()
    code = await voucher_of(client, sponsor)
    keys = generate_key_pair()
    response = await client.post(
        "/auth/register", json={"public_key": keys.public_key.text, "voucher_code": code}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"identityId", "fingerprint", "publicKey", "clientId", "clientSecret"}
    assert body["fingerprint"] == keys.public_key.fingerprint
    assert body["publicKey"] == keys.public_key.text

    token = await token_for(client, body["clientId"], body["clientSecret"])
    whoami = await client.get("/agents/whoami", headers={"Authorization": f"Bearer {token}"})
    assert whoami.status_code == 200, whoami.text
    assert whoami.json()["identityId"] == body["identityId"]
    assert sorted(whoami.json()["scopes"]) == sorted(ALL_SCOPES)

    graph = (await client.get("/vouch/graph")).json()
    assert graph["edges"][0]["issuerFingerprint"] == sponsor.fingerprint
    assert graph["edges"][0]["redeemerFingerprint"] == keys.public_key.fingerprint
    async with engine.connect() as connection:
        diaries = (
            await connection.execute(
                select(Diary.name, Diary.visibility).where(Diary.owner_id == body["identityId"])
            )
        ).all()
        clients = await connection.scalar(
            select(func.count())
            .select_from(OAuth2Client)
            .where(OAuth2Client.identity_id == body["identityId"])
        )
    assert [(name, str(visibility)) for name, visibility in diaries] == [("Private", "private")]
    assert clients == 1

    again = await client.post(
        "/auth/register", json={"publicKey": keys.public_key.text, "voucherCode": code}
    )
    assert_problem(again, 409, "conflict")

    # Agent#self and the Private diary's owner tuple land through the keto queue.
    await wait_until_workflows_settle(engine)
    async with engine.connect() as connection:
        tuples = set(
            (
                await connection.execute(
                    select(
                        RelationTupleRow.namespace,
                        RelationTupleRow.relation,
                        RelationTupleRow.subject_object,
                    ).where(RelationTupleRow.subject_object == body["identityId"])
                )
            ).all()
        )
    assert ("Agent", "self", body["identityId"]) in tuples
    assert ("Diary", "owner", body["identityId"]) in tuples


async def test_concurrent_registrations_with_one_voucher_have_one_winner(
    live_app: tuple[FastAPI, httpx.AsyncClient], live_factories: Factories, engine: AsyncEngine
) -> None:
    _, client = live_app
    sponsor = await live_factories.agent()
    code = await voucher_of(client, sponsor)
    keys = [generate_key_pair() for _ in range(4)]
    responses = await asyncio.gather(
        *(
            client.post(
                "/auth/register",
                json={"publicKey": key.public_key.text, "voucherCode": code},
            )
            for key in keys
        )
    )
    assert sorted(response.status_code for response in responses) == [200, 403, 403, 403]
    async with engine.connect() as connection:
        agents = await connection.scalar(select(func.count()).select_from(AgentKey))
        clients = await connection.scalar(select(func.count()).select_from(OAuth2Client))
    assert agents == 2  # the sponsor and the one winner: the losers were compensated
    assert clients == 1
    await wait_until_workflows_settle(engine)


async def wait_until_workflows_settle(engine: AsyncEngine, timeout: float = 15) -> None:
    """Poll until no workflow is queued or running (so shutdown has nothing to wait for)."""
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


async def test_registration_whose_workflow_does_not_finish_in_time_is_503(
    settings: Settings, engine: AsyncEngine, minter: TokenMinter, tmp_path: Path
) -> None:
    """No DBOS executor runs here (client-only app), so the committed workflow waits."""
    # An earlier tier-B test's DBOS.destroy() shut down this loop's default executor,
    # which DBOSClient's polling (asyncio.to_thread) needs: give the loop a fresh one.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=4))
    slow = make_settings(
        settings.database.url.get_secret_value() if settings.database.url else "",
        tmp_path,
        identity=IdentitySettings(registration_timeout_seconds=0.3),
        moltnet_home=settings.moltnet_home,
    )
    committed = async_sessionmaker(engine, expire_on_commit=False)
    sponsor = await Factories(committed, minter).agent()
    app = create_app(slow, launch_workflows=False)
    app.dependency_overrides[get_sessionmaker] = lambda: committed
    try:
        async with (
            LifespanManager(app, startup_timeout=120, shutdown_timeout=30) as manager,
            http_client(manager.app) as client,
        ):
            code = await voucher_of(client, sponsor)
            key = generate_key_pair().public_key.text
            response = await client.post(
                "/auth/register", json={"publicKey": key, "voucherCode": code}
            )
        assert_problem(response, 503, "service-unavailable")
    finally:
        async with committed.begin() as session:
            await session.execute(
                delete(AgentKey).where(AgentKey.identity_id == sponsor.identity_id)
            )
            await session.execute(
                text("DELETE FROM dbos.workflow_status WHERE name = 'registration.register_agent'")
            )


async def test_readiness_reports_the_identity_backend(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    component = response.json()["components"]["identity"]
    assert component["status"] == "ok"
    assert component["backend"] == "embedded"
