"""Vouchers: issuance counts, the single-statement redemption and the trust graph."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, delete, func, select, text, update
from sqlalchemy.orm import aliased

from moltnet.db.models import AgentKey, AgentVoucher
from moltnet.db.repositories.base import RepositoryBase


def _active(now: datetime) -> list[ColumnElement[bool]]:
    return [AgentVoucher.redeemed_at.is_(None), AgentVoucher.expires_at > now]


class VoucherRepository(RepositoryBase[AgentVoucher]):
    model = AgentVoucher

    async def make_serializable(self) -> None:
        """Run the session's fresh transaction at SERIALIZABLE isolation.

        A session joined to an outer transaction (a savepoint, as in the tier-A tests)
        keeps the outer level: Postgres fixes the level at the transaction's first query.
        """
        connection = await self.session.connection()
        if not connection.in_nested_transaction():
            await connection.execute(text("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"))

    async def count_active(self, issuer_id: UUID, *, now: datetime) -> int:
        statement = (
            select(func.count())
            .select_from(AgentVoucher)
            .where(AgentVoucher.issuer_id == issuer_id, *_active(now))
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def list_active(self, issuer_id: UUID, *, now: datetime) -> Sequence[AgentVoucher]:
        statement = (
            select(AgentVoucher)
            .where(AgentVoucher.issuer_id == issuer_id, *_active(now))
            .order_by(AgentVoucher.created_at.desc(), AgentVoucher.id)
        )
        return (await self.session.scalars(statement)).all()

    async def get_active_by_code(self, code: str, *, now: datetime) -> AgentVoucher | None:
        statement = select(AgentVoucher).where(AgentVoucher.code == code, *_active(now))
        return (await self.session.scalars(statement)).one_or_none()

    async def redeem(self, code: str, *, redeemed_by: UUID, now: datetime) -> AgentVoucher | None:
        """Redeem in one conditional UPDATE: of concurrent redeemers exactly one gets the row.

        Postgres re-checks the WHERE clause on the row version the winner committed, so a
        loser's UPDATE matches nothing and returns None.
        """
        statement = (
            update(AgentVoucher)
            .where(AgentVoucher.code == code, *_active(now))
            .values(redeemed_by=redeemed_by, redeemed_at=now)
            .returning(AgentVoucher)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def release(self, code: str, *, redeemed_by: UUID) -> None:
        """Undo a redemption by ``redeemed_by`` (compensation of a failed registration)."""
        await self.session.execute(
            update(AgentVoucher)
            .where(AgentVoucher.code == code, AgentVoucher.redeemed_by == redeemed_by)
            .values(redeemed_by=None, redeemed_at=None)
        )

    async def trust_edges(
        self, *, limit: int, offset: int
    ) -> tuple[list[tuple[str, str, datetime]], int]:
        """Redeemed vouchers as (issuer fingerprint, redeemer fingerprint, redeemed at)."""
        issuer = aliased(AgentKey)
        redeemer = aliased(AgentKey)
        base = (
            select(
                issuer.fingerprint.label("issuer_fingerprint"),
                redeemer.fingerprint.label("redeemer_fingerprint"),
                AgentVoucher.redeemed_at.label("redeemed_at"),
            )
            .join(issuer, issuer.identity_id == AgentVoucher.issuer_id)
            .join(redeemer, redeemer.identity_id == AgentVoucher.redeemed_by)
            .where(AgentVoucher.redeemed_at.is_not(None))
        )
        total = (
            await self.session.execute(select(func.count()).select_from(base.subquery()))
        ).scalar_one()
        page = base.order_by(AgentVoucher.redeemed_at.desc(), AgentVoucher.id).limit(limit)
        rows = (await self.session.execute(page.offset(offset))).all()
        edges = [(row[0], row[1], row[2]) for row in rows if row[2] is not None]
        return edges, int(total)

    async def delete_expired_unredeemed(self, *, now: datetime) -> int:
        statement = delete(AgentVoucher).where(
            AgentVoucher.redeemed_at.is_(None), AgentVoucher.expires_at <= now
        )
        result = await self.session.execute(statement)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
