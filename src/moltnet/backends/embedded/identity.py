"""``IdentityBackend`` on our own table ``embedded.identities`` (the Kratos role, embedded).

Each call runs in its own short transaction: the registration workflow calls the
identity backend from a step, outside any request, exactly as it would call Kratos.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.backends.protocols import RecoveryCodeGrant
from moltnet.db.models import EmbeddedIdentity

_RECOVERY_CODE_BYTES = 32


class EmbeddedIdentityBackend:
    kind = "embedded"

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, public_base_url: str):
        self._sessionmaker = sessionmaker
        self._public_base_url = public_base_url
        self._flow_url = f"{public_base_url.rstrip('/')}/recovery/complete"

    def using(self, sessionmaker: async_sessionmaker[AsyncSession]) -> EmbeddedIdentityBackend:
        """The same backend on another sessionmaker (the request's, which tests bind to
        their rolled-back transaction)."""
        if sessionmaker is self._sessionmaker:
            return self
        return EmbeddedIdentityBackend(sessionmaker, public_base_url=self._public_base_url)

    async def create_identity(self, *, public_key: str, voucher_code: str) -> UUID:
        # Idempotent per key: a workflow step that is re-run after a crash finds the
        # identity its first run created instead of leaking a second one.
        async with self._sessionmaker.begin() as session:
            existing = await session.scalar(
                select(EmbeddedIdentity.id).where(
                    EmbeddedIdentity.traits["public_key"].astext == public_key
                )
            )
            if existing is not None:
                return existing
            identity = EmbeddedIdentity(
                traits={"public_key": public_key, "voucher_code": voucher_code}
            )
            session.add(identity)
            await session.flush()
            return identity.id

    async def delete_identity(self, identity_id: UUID) -> None:
        async with self._sessionmaker.begin() as session:
            await session.execute(
                delete(EmbeddedIdentity).where(EmbeddedIdentity.id == identity_id)
            )

    async def create_recovery_code(
        self, identity_id: UUID, *, ttl_seconds: int
    ) -> RecoveryCodeGrant:
        # The code is a bearer secret handed to the agent once; the recovery service keeps
        # only its SHA-256 (API.md §3.9), in both identity modes.
        code = secrets.token_urlsafe(_RECOVERY_CODE_BYTES)
        expires_at = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
        return RecoveryCodeGrant(code=code, flow_url=self._flow_url, expires_at=expires_at)

    async def ping(self) -> None:
        async with self._sessionmaker() as session:
            await session.execute(text("SELECT 1 FROM embedded.identities LIMIT 1"))
