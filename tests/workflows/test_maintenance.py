"""``maintenance.purge_expired`` deletes exactly what has expired, and is scheduled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
from dbos import DBOS
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from moltnet.db.models import AgentVoucher, RecoveryCode, UsedRecoveryNonce
from moltnet.services.vouchers import new_code
from moltnet.workflows.maintenance import SCHEDULE_NAME, purge_expired
from tests.fixtures.agents import Factories, TokenMinter


async def test_purge_deletes_only_expired_rows_and_is_idempotent(
    live_app: tuple[FastAPI, httpx.AsyncClient], engine: AsyncEngine, minter: TokenMinter
) -> None:
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    issuer = await Factories(sessionmaker, minter).agent()
    redeemer = await Factories(sessionmaker, minter).agent()
    now = datetime.now(UTC)
    past, future = now - timedelta(minutes=1), now + timedelta(hours=1)
    async with sessionmaker.begin() as session:
        session.add_all(
            [
                AgentVoucher(code=new_code(), issuer_id=issuer.identity_id, expires_at=past),
                AgentVoucher(code=new_code(), issuer_id=issuer.identity_id, expires_at=future),
                AgentVoucher(  # redeemed: part of the trust graph, kept
                    code=new_code(),
                    issuer_id=issuer.identity_id,
                    expires_at=past,
                    redeemed_by=redeemer.identity_id,
                    redeemed_at=past - timedelta(hours=1),
                ),
                UsedRecoveryNonce(nonce="a" * 64, expires_at=past),
                UsedRecoveryNonce(nonce="b" * 64, expires_at=future),
                RecoveryCode(
                    code_hash=uuid4().hex, identity_id=issuer.identity_id, expires_at=past
                ),
                RecoveryCode(
                    code_hash=uuid4().hex, identity_id=issuer.identity_id, expires_at=future
                ),
            ]
        )

    for _ in range(2):  # a second run finds nothing more to delete
        handle = await DBOS.start_workflow_async(purge_expired, now, None)
        await handle.get_result(polling_interval_sec=0.05)
        async with sessionmaker() as session:
            vouchers = await session.scalar(select(func.count()).select_from(AgentVoucher))
            nonces = (await session.scalars(select(UsedRecoveryNonce.nonce))).all()
            codes = await session.scalar(select(func.count()).select_from(RecoveryCode))
        assert vouchers == 2
        assert list(nonces) == ["b" * 64]
        assert codes == 1

    schedule = await DBOS.get_schedule_async(SCHEDULE_NAME)
    assert schedule is not None
    assert schedule["workflow_name"] == "maintenance.purge_expired"
