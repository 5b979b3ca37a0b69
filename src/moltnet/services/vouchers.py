"""Vouchers: issuance under a per-issuer cap, listing, redemption and the trust graph."""

from __future__ import annotations

import asyncio
import random
import secrets
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.db.models import AgentVoucher
from moltnet.db.repositories.vouchers import VoucherRepository
from moltnet.errors import SerializationExhausted, VoucherLimit
from moltnet.schemas.vouchers import TrustEdge, TrustGraph, Voucher

logger = structlog.get_logger(__name__)

VOUCHER_TTL: Final = timedelta(hours=24)
MAX_ACTIVE_VOUCHERS: Final = 5
SERIALIZATION_ATTEMPTS: Final = 3
_CODE_BYTES: Final = 32
_SERIALIZATION_FAILURE: Final = "40001"


def new_code() -> str:
    return secrets.token_hex(_CODE_BYTES)


def _is_serialization_failure(error: DBAPIError) -> bool:
    original = error.orig
    for candidate in (original, getattr(original, "__cause__", None)):
        if getattr(candidate, "sqlstate", None) == _SERIALIZATION_FAILURE:
            return True
        if getattr(candidate, "pgcode", None) == _SERIALIZATION_FAILURE:
            return True
    return False


def to_schema(voucher: AgentVoucher, *, issuer_fingerprint: str) -> Voucher:
    return Voucher(code=voucher.code, issued_by=issuer_fingerprint, expires_at=voucher.expires_at)


async def issue(
    sessionmaker: async_sessionmaker[AsyncSession], *, issuer_id: UUID, issuer_fingerprint: str
) -> Voucher:
    """Issue a voucher unless the issuer already holds the maximum of active ones.

    The count and the insert run in one SERIALIZABLE transaction, so two concurrent
    requests can never both see four active vouchers and both insert: Postgres aborts
    one of them with a serialization failure. A retry needs a fresh transaction, which
    is why this function owns its unit of work instead of joining the request's.
    """
    for attempt in range(1, SERIALIZATION_ATTEMPTS + 1):
        try:
            async with sessionmaker.begin() as session:
                await VoucherRepository(session).make_serializable()
                voucher = await issue_in(session, issuer_id=issuer_id, capped=True)
            return to_schema(voucher, issuer_fingerprint=issuer_fingerprint)
        except DBAPIError as error:
            if not _is_serialization_failure(error):
                raise
            logger.info("voucher issuance lost a serialization race", attempt=attempt)
            # A short random pause spreads the retries of colliding requests apart.
            await asyncio.sleep(random.uniform(0, 0.02 * attempt))  # noqa: S311 - jitter, not crypto
    raise SerializationExhausted(
        f"voucher issuance lost {SERIALIZATION_ATTEMPTS} serialization retries; try again"
    )


async def issue_in(session: AsyncSession, *, issuer_id: UUID, capped: bool) -> AgentVoucher:
    """Insert one voucher in the caller's transaction; ``capped=False`` is for genesis only."""
    now = datetime.now(UTC)
    repository = VoucherRepository(session)
    if capped and await repository.count_active(issuer_id, now=now) >= MAX_ACTIVE_VOUCHERS:
        raise VoucherLimit(
            f"you already hold {MAX_ACTIVE_VOUCHERS} active vouchers; "
            "wait until one is redeemed or expires"
        )
    return await repository.add(
        AgentVoucher(code=new_code(), issuer_id=issuer_id, expires_at=now + VOUCHER_TTL)
    )


async def list_active(
    session: AsyncSession, *, issuer_id: UUID, issuer_fingerprint: str
) -> list[Voucher]:
    vouchers = await VoucherRepository(session).list_active(issuer_id, now=datetime.now(UTC))
    return [to_schema(voucher, issuer_fingerprint=issuer_fingerprint) for voucher in vouchers]


async def is_redeemable(session: AsyncSession, *, code: str) -> bool:
    voucher = await VoucherRepository(session).get_active_by_code(code, now=datetime.now(UTC))
    return voucher is not None


async def redeem(session: AsyncSession, *, code: str, redeemed_by: UUID) -> bool:
    """Redeem atomically; False when the voucher is missing, used, expired or lost a race."""
    voucher = await VoucherRepository(session).redeem(
        code, redeemed_by=redeemed_by, now=datetime.now(UTC)
    )
    return voucher is not None


async def release(session: AsyncSession, *, code: str, redeemed_by: UUID) -> None:
    await VoucherRepository(session).release(code, redeemed_by=redeemed_by)


async def trust_graph(session: AsyncSession, *, limit: int, offset: int) -> TrustGraph:
    rows, total = await VoucherRepository(session).trust_edges(limit=limit, offset=offset)
    edges = [
        TrustEdge(issuer_fingerprint=issuer, redeemer_fingerprint=redeemer, redeemed_at=when)
        for issuer, redeemer, when in rows
    ]
    return TrustGraph(edges=edges, total=total, limit=limit, offset=offset)


async def purge_expired(session: AsyncSession) -> int:
    return await VoucherRepository(session).delete_expired_unredeemed(now=datetime.now(UTC))
