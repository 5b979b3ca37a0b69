"""``IdentityBackend`` over Ory Kratos's admin API.

Request and response models mirror Kratos's OpenAPI (``createIdentityBody``,
``identity``, ``createRecoveryCodeForIdentityBody``, ``recoveryCodeForIdentity``).
We talk HTTP with httpx ourselves because ory-client's transport is synchronous.

Failures surface as ``UpstreamError`` with a short detail: Kratos's response bodies
(which may echo traits) never reach the caller or the logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from uuid import UUID

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moltnet.backends.protocols import RecoveryCodeGrant
from moltnet.errors import UpstreamError

AGENT_SCHEMA_ID = "agent"  # ory/kratos/identity.schema.json, registered under this id


class KratosIdentity(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: UUID
    schema_id: str | None = None


class KratosRecoveryCode(BaseModel):
    model_config = ConfigDict(extra="ignore")
    recovery_code: str = Field(repr=False)
    recovery_link: str
    expires_at: datetime


class KratosIdentityBackend:
    """Kratos as the identity backend; open it in the lifespan and ``aclose()`` it there.

    ``api_key`` is the bearer token of Ory Network's admin APIs (unset for a
    self-hosted Kratos whose admin port is private).
    """

    kind = "ory"

    def __init__(self, admin_url: str, *, api_key: str | None = None, timeout: float = 5.0):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(base_url=admin_url, timeout=timeout, headers=headers)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> KratosIdentityBackend:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def create_identity(self, *, public_key: str, voucher_code: str) -> UUID:
        body = {
            "schema_id": AGENT_SCHEMA_ID,
            "traits": {"public_key": public_key, "voucher_code": voucher_code},
            "state": "active",
        }
        response = await self._send("POST", "/admin/identities", json=body, expected={201})
        try:
            return KratosIdentity.model_validate_json(response.content).id
        except ValidationError:
            raise UpstreamError("identity backend sent an unreadable identity") from None

    async def delete_identity(self, identity_id: UUID) -> None:
        # 404 means an earlier attempt (or an operator) already removed it: idempotent.
        await self._send("DELETE", f"/admin/identities/{identity_id}", expected={204, 404})

    async def create_recovery_code(
        self, identity_id: UUID, *, ttl_seconds: int
    ) -> RecoveryCodeGrant:
        body = {"identity_id": str(identity_id), "expires_in": f"{ttl_seconds}s"}
        response = await self._send("POST", "/admin/recovery/code", json=body, expected={201})
        try:
            grant = KratosRecoveryCode.model_validate_json(response.content)
        except ValidationError:
            raise UpstreamError("identity backend sent an unreadable recovery code") from None
        return RecoveryCodeGrant(
            code=grant.recovery_code, flow_url=grant.recovery_link, expires_at=grant.expires_at
        )

    async def ping(self) -> None:
        await self._send("GET", "/health/ready", expected={200})

    async def _send(
        self,
        method: str,
        path: str,
        *,
        expected: set[int],
        json: Mapping[str, object] | None = None,
    ) -> httpx.Response:
        operation = f"{method} {path}"
        try:
            response = await self._client.request(method, path, json=json)
        except httpx.TimeoutException:
            raise UpstreamError(f"identity backend timed out ({operation})") from None
        except httpx.HTTPError:
            raise UpstreamError(f"identity backend unreachable ({operation})") from None
        if response.status_code not in expected:
            raise UpstreamError(
                f"identity backend rejected the request ({operation}, {response.status_code})"
            )
        return response
