"""Bearer-token authentication and scopes (API.md §1.2-1.3), on probe routes."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter

from moltnet.api.auth import DiaryWriter, OptionalDiaryReader
from moltnet.config import Settings
from moltnet.main import create_app
from tests.fixtures.agents import TokenMinter
from tests.fixtures.app import http_client

router = APIRouter(prefix="/probe-auth")


@router.post("/write")
async def write_probe(subject: DiaryWriter) -> dict[str, str]:
    return {"fingerprint": subject.fingerprint}


@router.get("/read")
async def read_probe(subject: OptionalDiaryReader) -> dict[str, str | None]:
    return {"fingerprint": subject.fingerprint if subject else None}


@pytest.fixture(scope="module")
async def probe(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, launch_workflows=False)
    app.include_router(router)
    async with LifespanManager(app) as manager, http_client(manager.app) as client:
        yield client


def token(minter: TokenMinter, **overrides: object) -> str:
    values: dict[str, object] = {
        "identity_id": uuid4(),
        "public_key": "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        "fingerprint": "21FE-31DF-A154-A261",
        "client_id": "client-1",
    }
    values.update(overrides)
    return minter.mint(**values)  # type: ignore[arg-type]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["code"] == "UNAUTHORIZED"


async def test_valid_token_authenticates(probe: httpx.AsyncClient, minter: TokenMinter) -> None:
    response = await probe.post("/probe-auth/write", headers=bearer(token(minter)))
    assert response.status_code == 200
    assert response.json() == {"fingerprint": "21FE-31DF-A154-A261"}


async def test_missing_token_is_401(probe: httpx.AsyncClient) -> None:
    assert_401(await probe.post("/probe-auth/write"))


@pytest.mark.parametrize(
    "header",
    [
        "Basic abc",
        "Bearer",
        "Bearer ",
        "token",
        "Bearer a.b",
        "Bearer a.b.c",
        "Bearer " + "x" * 10_000,
    ],
)
async def test_malformed_authorization_is_401(probe: httpx.AsyncClient, header: str) -> None:
    assert_401(await probe.post("/probe-auth/write", headers={"Authorization": header}))


async def test_expired_token_is_401(probe: httpx.AsyncClient, minter: TokenMinter) -> None:
    old = datetime.now(UTC) - timedelta(hours=2)
    assert_401(
        await probe.post(
            "/probe-auth/write", headers=bearer(token(minter, now=old, ttl_seconds=600))
        )
    )


async def test_token_from_another_issuer_is_401(
    probe: httpx.AsyncClient, minter: TokenMinter, settings: Settings
) -> None:
    other = TokenMinter(
        minter.signing_keys, settings.model_copy(update={"public_base_url": "https://evil.example"})
    )
    assert_401(await probe.post("/probe-auth/write", headers=bearer(token(other))))


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_tampered_payload_is_401(probe: httpx.AsyncClient, minter: TokenMinter) -> None:
    header, payload, signature = token(minter).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = claims["scope"] + " admin"
    assert_401(
        await probe.post(
            "/probe-auth/write", headers=bearer(f"{header}.{_b64(claims)}.{signature}")
        )
    )


async def test_alg_none_token_is_401(probe: httpx.AsyncClient, minter: TokenMinter) -> None:
    _, payload, _ = token(minter).split(".")
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    assert_401(await probe.post("/probe-auth/write", headers=bearer(forged)))


async def test_token_without_the_scope_is_403_naming_it(
    probe: httpx.AsyncClient, minter: TokenMinter
) -> None:
    response = await probe.post(
        "/probe-auth/write", headers=bearer(token(minter, scopes=["diary:read"]))
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "INSUFFICIENT_SCOPE"
    assert body["requiredScopes"] == ["diary:write"]
    assert (
        response.headers["www-authenticate"]
        == 'Bearer error="insufficient_scope", scope="diary:write"'
    )


async def test_optional_auth_allows_anonymous(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/probe-auth/read")
    assert response.status_code == 200
    assert response.json() == {"fingerprint": None}


async def test_optional_auth_rejects_a_bad_token(probe: httpx.AsyncClient) -> None:
    assert_401(await probe.get("/probe-auth/read", headers=bearer("not.a.token")))


async def test_optional_auth_enforces_scope_of_a_sent_token(
    probe: httpx.AsyncClient, minter: TokenMinter
) -> None:
    response = await probe.get(
        "/probe-auth/read", headers=bearer(token(minter, scopes=["diary:write"]))
    )
    assert response.status_code == 403


async def test_scopes_are_declared_in_openapi(probe: httpx.AsyncClient) -> None:
    spec = (await probe.get("/openapi.json")).json()
    scheme = spec["components"]["securitySchemes"]["BearerToken"]
    assert "diary:write" in scheme["flows"]["clientCredentials"]["scopes"]
    assert spec["paths"]["/probe-auth/write"]["post"]["security"] == [
        {"BearerToken": ["diary:write"]}
    ]
