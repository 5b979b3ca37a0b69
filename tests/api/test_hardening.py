"""HTTP hardening: security headers, CORS allow-list, trusted hosts, timeouts, fail-fast start."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter
from typer.testing import CliRunner

from moltnet.api.hardening import HardeningConfigError
from moltnet.cli import app as cli
from moltnet.config import Environment, Settings, get_settings
from moltnet.main import create_app
from tests.fixtures.app import http_client
from tests.unit.tiny_encoder import build_tiny_encoder, tokenizer_path

router = APIRouter(prefix="/probe-hardening")


@router.get("/stuck")
async def stuck_probe() -> dict[str, str]:
    await anyio.Event().wait()  # never set: only the request timeout ends this
    return {"status": "unreachable"}


@router.get("/fine")
async def fine_probe() -> dict[str, str]:
    return {"status": "ok"}


ORIGIN = "https://app.example.com"


@pytest.fixture(scope="module")
async def hardened(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    hardened_settings = settings.model_copy(
        update={
            "cors_origins": [ORIGIN],
            "trusted_hosts": ["testserver", "*.example.com"],
            "request_timeout_seconds": 0.3,
        }
    )
    app = create_app(hardened_settings, launch_workflows=False)
    app.include_router(router)
    async with LifespanManager(app) as manager, http_client(manager.app) as client:
        yield client


async def test_security_headers_on_every_response(hardened: httpx.AsyncClient) -> None:
    for path in ("/probe-hardening/fine", "/no-such-route"):
        response = await hardened.get(path)
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["cache-control"] == "no-store"
    docs = await hardened.get("/docs")
    assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]


async def test_cors_allows_listed_origins_only(hardened: httpx.AsyncClient) -> None:
    preflight = await hardened.options(
        "/probe-hardening/fine",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-credentials" not in preflight.headers

    simple = await hardened.get("/probe-hardening/fine", headers={"Origin": ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    exposed = simple.headers["access-control-expose-headers"].lower()
    assert "ratelimit-remaining" in exposed
    assert "x-request-id" in exposed

    foreign = await hardened.get("/probe-hardening/fine", headers={"Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in foreign.headers
    refused = await hardened.options(
        "/probe-hardening/fine",
        headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


async def test_untrusted_host_is_refused_with_a_problem(hardened: httpx.AsyncClient) -> None:
    response = await hardened.get("/probe-hardening/fine", headers={"Host": "attacker.test"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "VALIDATION_FAILED"
    assert response.json()["errors"] == [{"field": "header.host", "message": "untrusted host"}]
    # wildcard subdomains and health probes by address pass
    api = await hardened.get("/probe-hardening/fine", headers={"Host": "api.example.com:443"})
    assert api.status_code == 200
    health = await hardened.get("/health", headers={"Host": "10.0.0.7:8000"})
    assert health.status_code == 200


async def test_slow_request_times_out_with_503(hardened: httpx.AsyncClient) -> None:
    response = await hardened.get(
        "/probe-hardening/stuck", headers={"X-Request-Id": "timeout-probe-1"}
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "SERVICE_UNAVAILABLE"
    assert body["requestId"] == "timeout-probe-1"
    assert response.headers["x-request-id"] == "timeout-probe-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    # the server is still fine afterwards
    assert (await hardened.get("/probe-hardening/fine")).status_code == 200


def test_production_requires_a_cors_allow_list(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": Environment.production})
    with pytest.raises(HardeningConfigError, match="CORS_ORIGINS is required"):
        create_app(production, launch_workflows=False)
    wildcard = production.model_copy(update={"cors_origins": ["*"]})
    with pytest.raises(HardeningConfigError, match="must not contain"):
        create_app(wildcard, launch_workflows=False)
    create_app(production.model_copy(update={"cors_origins": [ORIGIN]}), launch_workflows=False)


def serve_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[int, str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # the CLI points logging at its stderr
    try:
        result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    finally:
        get_settings.cache_clear()
        root.handlers[:], root.level = handlers, level
    return result.exit_code, result.output


def test_serve_fails_fast_when_the_model_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "e5-small-v2" / "model.onnx"
    code, output = serve_with(
        monkeypatch,
        EMBED_MODEL_PATH=str(missing),
        EMBED_TOKENIZER_PATH=str(tokenizer_path()),
        MOLTNET_HOME=str(tmp_path),
    )
    assert code == 2
    assert output.strip() == f"error: embedding model not found: {missing}"


def test_serve_fails_fast_when_the_model_is_not_384_d(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = build_tiny_encoder(tmp_path / "model.onnx", dimensions=256)
    code, output = serve_with(
        monkeypatch,
        EMBED_MODEL_PATH=str(model),
        EMBED_TOKENIZER_PATH=str(tokenizer_path()),
        MOLTNET_HOME=str(tmp_path),
    )
    assert code == 2
    assert output.startswith("error: embedding model ")
    assert "expected (384,)" in output
    assert len(output.strip().splitlines()) == 1


def test_serve_fails_fast_in_production_without_cors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, output = serve_with(
        monkeypatch,
        ENVIRONMENT="production",
        MOLTNET_HOME=str(tmp_path),
        RECOVERY_CHALLENGE_SECRET="s" * 32,
        ORY_ACTION_API_KEY="k" * 32,
        OAUTH2_SIGNING_KEYS='{"keys": []}',
        CORS_ORIGINS="",
    )
    assert code == 2
    assert "CORS_ORIGINS is required in production" in output
