"""Recovery: used challenge nonces and the hashes of handed-out recovery codes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert

from moltnet.db.models import RecoveryCode, UsedRecoveryNonce
from moltnet.db.repositories.base import RepositoryBase


class RecoveryRepository(RepositoryBase[RecoveryCode]):
    model = RecoveryCode

    async def record_nonce(self, nonce: str, *, expires_at: datetime) -> bool:
        """Store a nonce; False if it was stored before (a replay).

        A concurrent insert of the same nonce waits for the first to commit, then
        finds the conflict: of two simultaneous uses exactly one records it.
        """
        statement = (
            insert(UsedRecoveryNonce)
            .values(nonce=nonce, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=[UsedRecoveryNonce.nonce])
            .returning(UsedRecoveryNonce.nonce)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def add_code(self, *, code_hash: str, identity_id: UUID, expires_at: datetime) -> None:
        await self.add(
            RecoveryCode(code_hash=code_hash, identity_id=identity_id, expires_at=expires_at)
        )

    async def use_code(self, code_hash: str, *, now: datetime) -> UUID | None:
        """Mark an unused, unexpired code used, in one conditional UPDATE; its identity or None."""
        statement = (
            update(RecoveryCode)
            .where(
                RecoveryCode.code_hash == code_hash,
                RecoveryCode.used_at.is_(None),
                RecoveryCode.expires_at > now,
            )
            .values(used_at=now)
            .returning(RecoveryCode.identity_id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def delete_expired_nonces(self, *, now: datetime) -> int:
        result = await self.session.execute(
            delete(UsedRecoveryNonce).where(UsedRecoveryNonce.expires_at <= now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def delete_expired_codes(self, *, now: datetime) -> int:
        result = await self.session.execute(
            delete(RecoveryCode).where(RecoveryCode.expires_at <= now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
