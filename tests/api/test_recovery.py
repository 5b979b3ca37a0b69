"""Key-based recovery (API.md §3.9, §5.5), with hostile challenges and signatures."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.config import Settings
from moltnet.crypto import challenge_hmac, encode_signature, generate_key_pair, sign
from moltnet.db.models import RecoveryCode
from moltnet.lifespan import AppState
from tests.fixtures.agents import Factories, TestAgent

NONCE = "ab" * 32


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["type"] == f"/problems/{slug}"
    return body


@pytest.fixture
def secret(tier_a_app: tuple[object, object]) -> bytes:
    _, manager = tier_a_app
    state: AppState = manager._state  # type: ignore[attr-defined]
    return state["secrets"]["RECOVERY_CHALLENGE_SECRET"].get_secret_value().encode()


def signed(agent: TestAgent, challenge: str) -> str:
    return encode_signature(sign(agent.keys.seed, challenge.encode()))


async def challenge_for(client: httpx.AsyncClient, public_key: str) -> dict[str, str]:
    response = await client.post("/recovery/challenge", json={"publicKey": public_key})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def verify_body(client: httpx.AsyncClient, agent: TestAgent) -> dict[str, str]:
    issued = await challenge_for(client, agent.public_key)
    return {
        **issued,
        "signature": signed(agent, issued["challenge"]),
        "publicKey": agent.public_key,
    }


def forged(public_key: str, secret: bytes, issued_at_ms: int, nonce: str = NONCE) -> dict[str, str]:
    challenge = f"moltnet:recovery:{public_key}:{nonce}:{issued_at_ms}"
    return {"challenge": challenge, "hmac": challenge_hmac(challenge, secret)}


async def test_challenge_has_the_documented_form_for_known_and_unknown_keys(
    client: httpx.AsyncClient, factories: Factories, secret: bytes
) -> None:
    alice = await factories.agent()
    stranger = generate_key_pair().public_key.text
    for key in (alice.public_key, stranger):
        before = time.time_ns() // 1_000_000
        body = await challenge_for(client, key)
        assert set(body) == {"challenge", "hmac"}
        fields = body["challenge"].split(":")
        assert len(fields) == 6
        assert ":".join(fields[:4]) == f"moltnet:recovery:{key}"
        assert len(fields[4]) == 64
        assert before - 1000 <= int(fields[5]) <= time.time_ns() // 1_000_000 + 1000
        assert body["hmac"] == challenge_hmac(body["challenge"], secret)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"publicKey": 1},
        {"publicKey": "rsa:abc"},
        {"publicKey": "ed25519:" + "A" * 60},
        {"publicKey": "ed25519:AAAA"},
        {"publicKey": "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURp="},
        {"publicKey": "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "x": 1},
        {"public_key": "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
        {"publicKey": "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\x00"},
    ],
)
async def test_challenge_rejects_malformed_keys(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    assert_problem(await client.post("/recovery/challenge", json=body), 400, "validation-failed")


async def test_full_recovery_issues_a_working_secret_and_retires_the_old_one(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    first = await client.post("/recovery/verify", json=await verify_body(client, alice))
    assert first.status_code == 200, first.text
    grant = first.json()
    assert set(grant) == {"recoveryCode", "recoveryFlowUrl", "expiresAt"}
    assert grant["recoveryFlowUrl"] == "http://testserver/recovery/complete"
    expires = datetime.fromisoformat(grant["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(seconds=890) < expires - datetime.now(UTC) <= timedelta(seconds=900)

    completed = await client.post(
        "/recovery/complete", json={"recoveryCode": grant["recoveryCode"]}
    )
    assert completed.status_code == 200, completed.text
    old = completed.json()
    assert set(old) == {"clientId", "clientSecret"}
    token = await client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", **_form(old)},
    )
    assert token.status_code == 200, token.text
    whoami = await client.get(
        "/agents/whoami", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert whoami.json()["fingerprint"] == alice.fingerprint

    reused = await client.post("/recovery/complete", json={"recoveryCode": grant["recoveryCode"]})
    assert_problem(reused, 400, "invalid-recovery-code")

    second = await client.post("/recovery/verify", json=await verify_body(client, alice))
    code = second.json()["recoveryCode"]
    rotated = (await client.post("/recovery/complete", json={"recoveryCode": code})).json()
    assert rotated["clientId"] == old["clientId"]
    assert rotated["clientSecret"] != old["clientSecret"]
    stale = await client.post(
        "/oauth2/token", data={"grant_type": "client_credentials", **_form(old)}
    )
    assert stale.status_code == 401
    assert stale.json()["error"] == "invalid_client"
    fresh = await client.post(
        "/oauth2/token", data={"grant_type": "client_credentials", **_form(rotated)}
    )
    assert fresh.status_code == 200


def _form(credentials: dict[str, str]) -> dict[str, str]:
    return {"client_id": credentials["clientId"], "client_secret": credentials["clientSecret"]}


async def test_a_challenge_is_single_use_even_after_a_bad_signature(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    body = await verify_body(client, alice)
    good = body["signature"]
    bad = await client.post("/recovery/verify", json={**body, "signature": signed(alice, "x")})
    assert_problem(bad, 400, "invalid-signature")
    replay = await client.post("/recovery/verify", json={**body, "signature": good})
    assert_problem(replay, 400, "invalid-challenge")

    body = await verify_body(client, alice)
    assert (await client.post("/recovery/verify", json=body)).status_code == 200
    assert_problem(await client.post("/recovery/verify", json=body), 400, "invalid-challenge")


async def test_unknown_key_and_bad_signature_get_one_identical_answer(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    stranger = generate_key_pair()
    issued = await challenge_for(client, stranger.public_key.text)
    unknown = await client.post(
        "/recovery/verify",
        json={
            **issued,
            "publicKey": stranger.public_key.text,
            "signature": encode_signature(sign(stranger.seed, issued["challenge"].encode())),
        },
    )
    body = await verify_body(client, alice)
    other = generate_key_pair()
    wrong_key = await client.post(
        "/recovery/verify",
        json={**body, "signature": encode_signature(sign(other.seed, body["challenge"].encode()))},
    )
    answers = [assert_problem(r, 400, "invalid-signature") for r in (unknown, wrong_key)]
    for answer in answers:
        answer.pop("instance", None)
    assert answers[0] == answers[1]


@pytest.mark.parametrize(
    "signature",
    [
        "not base64!",
        base64.b64encode(b"\x00" * 63).decode(),
        base64.b64encode(b"\x00" * 65).decode(),
        base64.b64encode(b"\x00" * 64).decode().rstrip("="),
        "é" * 88,
    ],
)
async def test_malformed_signatures_are_invalid_signatures(
    client: httpx.AsyncClient, factories: Factories, signature: str
) -> None:
    alice = await factories.agent()
    body = await verify_body(client, alice)
    response = await client.post("/recovery/verify", json={**body, "signature": signature})
    assert_problem(response, 400, "invalid-signature")


async def test_hostile_challenges_are_invalid_challenges(
    client: httpx.AsyncClient, factories: Factories, secret: bytes
) -> None:
    alice = await factories.agent()
    now = time.time_ns() // 1_000_000
    genuine = await challenge_for(client, alice.public_key)
    other = generate_key_pair().public_key.text
    cases = [
        forged(alice.public_key, secret, now - 301_000),  # expired
        forged(alice.public_key, secret, now + 60_000),  # from the future
        forged(alice.public_key, b"some-other-secret-value", now),  # forged HMAC
        {**genuine, "hmac": "0" * 64},  # HMAC of nothing
        {**genuine, "challenge": genuine["challenge"].replace("moltnet", "moltnat")},
        forged(other, secret, now),  # bound to another key
        {"challenge": "moltnet:recovery:garbage", "hmac": "0" * 64},
        forged(alice.public_key, secret, now, nonce="AB" * 32),  # uppercase nonce
    ]
    for case in cases:
        body = {
            **case,
            "publicKey": alice.public_key,
            "signature": signed(alice, case["challenge"]),
        }
        assert_problem(await client.post("/recovery/verify", json=body), 400, "invalid-challenge")


@pytest.mark.parametrize(
    "change",
    [
        {"hmac": "A" * 64},
        {"hmac": "0" * 63},
        {"challenge": ""},
        {"challenge": "x" * 501},
        {"challenge": 5},
        {"signature": None},
        {"publicKey": "ed25519:" + "A" * 60},
        {"extra": True},
    ],
)
async def test_verify_rejects_malformed_bodies(
    client: httpx.AsyncClient, factories: Factories, change: dict[str, object]
) -> None:
    alice = await factories.agent()
    body: dict[str, object] = {**(await verify_body(client, alice)), **change}
    assert_problem(await client.post("/recovery/verify", json=body), 400, "validation-failed")


async def test_concurrent_uses_of_one_challenge_yield_one_code(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    body = await verify_body(client, alice)
    responses = [await client.post("/recovery/verify", json=body) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 400, 400]


@pytest.mark.parametrize("code", ["", "x" * 201, "nope", 5, None])
async def test_complete_rejects_unknown_or_malformed_codes(
    client: httpx.AsyncClient, code: object
) -> None:
    response = await client.post("/recovery/complete", json={"recoveryCode": code})
    expected = (400, "invalid-recovery-code") if code == "nope" else (400, "validation-failed")
    assert_problem(response, *expected)


async def test_complete_rejects_an_expired_code(
    client: httpx.AsyncClient,
    factories: Factories,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    alice = await factories.agent()
    grant = (await client.post("/recovery/verify", json=await verify_body(client, alice))).json()
    async with session_factory.begin() as session:
        await session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.identity_id == alice.identity_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = await client.post("/recovery/complete", json={"recoveryCode": grant["recoveryCode"]})
    assert_problem(response, 400, "invalid-recovery-code")


async def test_recovery_code_ttl_follows_settings(settings: Settings) -> None:
    assert settings.recovery.code_ttl_seconds == 900


async def test_challenges_for_one_key_are_all_distinct(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    bodies = await asyncio.gather(*(challenge_for(client, alice.public_key) for _ in range(5)))
    assert len({body["challenge"] for body in bodies}) == 5
