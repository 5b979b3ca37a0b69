"""``KratosIdentityBackend`` against Kratos's admin API contract (simulated with respx).

Request and response bodies follow Kratos's OpenAPI: ``createIdentityBody`` →
``identity`` (201), ``DELETE /admin/identities/{id}`` → 204 (404 when gone),
``createRecoveryCodeForIdentityBody`` → ``recoveryCodeForIdentity`` (201).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from uuid import UUID

import httpx
import pytest
import respx

from moltnet.backends.ory.kratos import AGENT_SCHEMA_ID, KratosIdentityBackend
from moltnet.errors import UpstreamError

ADMIN_URL = "http://kratos-admin.test:4434"
IDENTITY_ID = UUID("9f4c0a52-6d3b-4d69-8a0e-0a3c5b1f2e77")
PUBLIC_KEY = "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
VOUCHER = "ab" * 32
UPSTREAM_SECRET_BODY = {
    "error": {"code": 500, "message": "pq: password=hunter2 leaked", "reason": PUBLIC_KEY}
}

KRATOS_IDENTITY: dict[str, object] = {  # an `identity` as Kratos v1 answers it
    "id": str(IDENTITY_ID),
    "schema_id": AGENT_SCHEMA_ID,
    "schema_url": "http://kratos.test/schemas/YWdlbnQ",
    "state": "active",
    "state_changed_at": "2026-11-30T04:00:00.000000Z",
    "traits": {"public_key": PUBLIC_KEY, "voucher_code": VOUCHER},
    "verifiable_addresses": [],
    "recovery_addresses": [],
    "metadata_public": None,
    "metadata_admin": None,
    "created_at": "2026-11-30T04:00:00.000000Z",
    "updated_at": "2026-11-30T04:00:00.000000Z",
    "organization_id": None,
}


@pytest.fixture
def kratos_api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=ADMIN_URL, assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
async def backend() -> AsyncIterator[KratosIdentityBackend]:
    async with KratosIdentityBackend(ADMIN_URL, api_key="ory_pat_test", timeout=1.0) as kratos:
        yield kratos


async def test_create_identity_posts_the_agent_schema_and_traits(
    kratos_api: respx.MockRouter, backend: KratosIdentityBackend
) -> None:
    route = kratos_api.post("/admin/identities").respond(201, json=KRATOS_IDENTITY)
    identity_id = await backend.create_identity(public_key=PUBLIC_KEY, voucher_code=VOUCHER)
    assert identity_id == IDENTITY_ID
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer ory_pat_test"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "schema_id": "agent",
        "traits": {"public_key": PUBLIC_KEY, "voucher_code": VOUCHER},
        "state": "active",
    }


@pytest.mark.parametrize("status", [400, 409, 500, 503])
async def test_create_identity_failures_are_upstream_errors_without_bodies(
    kratos_api: respx.MockRouter, backend: KratosIdentityBackend, status: int
) -> None:
    kratos_api.post("/admin/identities").respond(status, json=UPSTREAM_SECRET_BODY)
    with pytest.raises(UpstreamError) as caught:
        await backend.create_identity(public_key=PUBLIC_KEY, voucher_code=VOUCHER)
    assert "hunter2" not in str(caught.value.detail)
    assert PUBLIC_KEY not in str(caught.value.detail)
    assert caught.value.status == 502


async def test_create_identity_with_an_unreadable_answer_is_an_upstream_error(
    kratos_api: respx.MockRouter, backend: KratosIdentityBackend
) -> None:
    kratos_api.post("/admin/identities").respond(201, json={"id": "not-a-uuid"})
    with pytest.raises(UpstreamError):
        await backend.create_identity(public_key=PUBLIC_KEY, voucher_code=VOUCHER)


async def test_unreachable_and_slow_kratos_are_upstream_errors(
    kratos_api: respx.MockRouter, backend: KratosIdentityBackend
) -> None:
    kratos_api.post("/admin/identities").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(UpstreamError, match="unreachable"):
        await backend.create_identity(public_key=PUBLIC_KEY, voucher_code=VOUCHER)
    kratos_api.post("/admin/recovery/code").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(UpstreamError, match="timed out"):
        await backend.create_recovery_code(IDENTITY_ID, ttl_seconds=900)


@pytest.mark.parametrize("status", [204, 404])
async def test_delete_identity_is_idempotent(
    kratos_api: respx.MockRouter, backend: KratosIdentityBackend, status: int
) -> None:
    route = kratos_api.delete(f"/admin/identities/{IDENTITY_ID}").respond(status)
    await backend.delete_identity(IDENTITY_ID)
    assert route.called


async def test_delete_identity_failure_is_an_upstream_error(
    kratos_api: respx.MockRouter, backend: KratosIdentityBackend
) -> None:
    kratos_api.delete(f"/admin/identities/{IDENTITY_ID}").respond(500, json=UPSTREAM_SECRET_BODY)
    with pytest.raises(UpstreamError):
        await backend.delete_identity(IDENTITY_ID)


async def test_create_recovery_code_maps_kratos_answer(
    kratos_api: respx.MockRouter, backend: KratosIdentityBackend
) -> None:
    route = kratos_api.post("/admin/recovery/code").respond(
        201,
        json={
            "recovery_link": "https://kratos.test/self-service/recovery?flow=5a3c",
            "recovery_code": "76453943",
            "expires_at": "2026-11-30T04:15:00.123456Z",
        },
    )
    grant = await backend.create_recovery_code(IDENTITY_ID, ttl_seconds=900)
    assert json.loads(route.calls.last.request.content) == {
        "identity_id": str(IDENTITY_ID),
        "expires_in": "900s",
    }
    assert grant.code == "76453943"
    assert grant.flow_url == "https://kratos.test/self-service/recovery?flow=5a3c"
    assert grant.expires_at == datetime(2026, 11, 30, 4, 15, 0, 123456, tzinfo=UTC)
    assert "76453943" not in repr(grant)


@pytest.mark.parametrize(
    ("status", "body"),
    [(404, {"error": {"code": 404}}), (400, UPSTREAM_SECRET_BODY), (201, {"recovery_code": 1})],
)
async def test_create_recovery_code_failures_are_upstream_errors(
    kratos_api: respx.MockRouter,
    backend: KratosIdentityBackend,
    status: int,
    body: dict[str, object],
) -> None:
    kratos_api.post("/admin/recovery/code").respond(status, json=body)
    with pytest.raises(UpstreamError):
        await backend.create_recovery_code(IDENTITY_ID, ttl_seconds=900)


async def test_ping_uses_the_health_endpoint(
    kratos_api: respx.MockRouter, backend: KratosIdentityBackend
) -> None:
    kratos_api.get("/health/ready").respond(200, json={"status": "ok"})
    await backend.ping()
    kratos_api.get("/health/ready").respond(503, json={"errors": {"database": "down"}})
    with pytest.raises(UpstreamError):
        await backend.ping()


async def test_self_hosted_kratos_gets_no_authorization_header(
    kratos_api: respx.MockRouter,
) -> None:
    route = kratos_api.post("/admin/identities").respond(201, json=KRATOS_IDENTITY)
    async with KratosIdentityBackend(ADMIN_URL) as kratos:
        await kratos.create_identity(public_key=PUBLIC_KEY, voucher_code=VOUCHER)
    assert "authorization" not in route.calls.last.request.headers
