"""``IdentityBackend`` over Ory Kratos's admin API.

Request and response models mirror Kratos's OpenAPI (``createIdentityBody``,
``identity``, ``createRecoveryCodeForIdentityBody``, ``recoveryCodeForIdentity``).
The HTTP plumbing is ``moltnet.backends.ory.http``.

Failures surface as ``UpstreamError`` with a short detail: Kratos's response bodies
(which may echo traits) never reach the caller or the logs.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moltnet.backends.ory.http import ErrorWording, OryAdapter, OryHttp, ory_client
from moltnet.backends.protocols import RecoveryCodeGrant
from moltnet.errors import UpstreamError

AGENT_SCHEMA_ID = "agent"  # ory/kratos/identity.schema.json, registered under this id
_WORDING = ErrorWording(
    timed_out="identity backend timed out ({operation})",
    unreachable="identity backend unreachable ({operation})",
    rejected="identity backend rejected the request ({operation}, {status})",
)


class KratosIdentity(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: UUID
    schema_id: str | None = None


class KratosRecoveryCode(BaseModel):
    model_config = ConfigDict(extra="ignore")
    recovery_code: str = Field(repr=False)
    recovery_link: str
    expires_at: datetime


class KratosIdentityBackend(OryAdapter):
    """Kratos as the identity backend; open it in the lifespan and ``aclose()`` it there.

    ``api_key`` is the bearer token of Ory Network's admin APIs (unset for a
    self-hosted Kratos whose admin port is private).
    """

    kind = "ory"

    def __init__(self, admin_url: str, *, api_key: str | None = None, timeout: float = 5.0):
        client = ory_client(admin_url, timeout=timeout, api_key=api_key)
        super().__init__(client)
        self._admin = OryHttp(client, _WORDING)

    async def create_identity(self, *, public_key: str, voucher_code: str) -> UUID:
        body = {
            "schema_id": AGENT_SCHEMA_ID,
            "traits": {"public_key": public_key, "voucher_code": voucher_code},
            "state": "active",
        }
        response = await self._admin.request("POST", "/admin/identities", json=body, expected={201})
        try:
            return KratosIdentity.model_validate_json(response.content).id
        except ValidationError:
            raise UpstreamError("identity backend sent an unreadable identity") from None

    async def delete_identity(self, identity_id: UUID) -> None:
        # 404 means an earlier attempt (or an operator) already removed it: idempotent.
        await self._admin.request("DELETE", f"/admin/identities/{identity_id}", expected={204, 404})

    async def create_recovery_code(
        self, identity_id: UUID, *, ttl_seconds: int
    ) -> RecoveryCodeGrant:
        body = {"identity_id": str(identity_id), "expires_in": f"{ttl_seconds}s"}
        response = await self._admin.request(
            "POST", "/admin/recovery/code", json=body, expected={201}
        )
        try:
            grant = KratosRecoveryCode.model_validate_json(response.content)
        except ValidationError:
            raise UpstreamError("identity backend sent an unreadable recovery code") from None
        return RecoveryCodeGrant(
            code=grant.recovery_code, flow_url=grant.recovery_link, expires_at=grant.expires_at
        )

    async def ping(self) -> None:
        await self._admin.request("GET", "/health/ready", expected={200})
