"""``EmbeddedIdentityBackend`` on the real ``embedded.identities`` table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.backends.embedded.identity import EmbeddedIdentityBackend
from moltnet.crypto import generate_key_pair
from moltnet.db.models import EmbeddedIdentity

VOUCHER = "cd" * 32


def backend_on(sessionmaker: async_sessionmaker[AsyncSession]) -> EmbeddedIdentityBackend:
    return EmbeddedIdentityBackend(sessionmaker, public_base_url="https://moltnet.test/")


async def test_create_stores_traits_and_is_idempotent_per_key(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    backend = backend_on(session_factory)
    key = generate_key_pair().public_key.text
    first = await backend.create_identity(public_key=key, voucher_code=VOUCHER)
    again = await backend.create_identity(public_key=key, voucher_code=VOUCHER)
    other = await backend.create_identity(
        public_key=generate_key_pair().public_key.text, voucher_code=VOUCHER
    )
    assert first == again != other
    async with session_factory() as session:
        identity = await session.get(EmbeddedIdentity, first)
    assert identity is not None
    assert identity.traits == {"public_key": key, "voucher_code": VOUCHER}
    assert identity.state == "active"


async def test_delete_is_idempotent(session_factory: async_sessionmaker[AsyncSession]) -> None:
    backend = backend_on(session_factory)
    identity_id = await backend.create_identity(
        public_key=generate_key_pair().public_key.text, voucher_code=VOUCHER
    )
    await backend.delete_identity(identity_id)
    await backend.delete_identity(identity_id)
    async with session_factory() as session:
        remaining = await session.scalar(
            select(func.count())
            .select_from(EmbeddedIdentity)
            .where(EmbeddedIdentity.id == identity_id)
        )
    assert remaining == 0


async def test_recovery_codes_are_random_and_point_at_complete(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    backend = backend_on(session_factory)
    identity_id = await backend.create_identity(
        public_key=generate_key_pair().public_key.text, voucher_code=VOUCHER
    )
    before = datetime.now(UTC)
    grants = [await backend.create_recovery_code(identity_id, ttl_seconds=600) for _ in range(3)]
    assert len({grant.code for grant in grants}) == 3
    assert all(len(grant.code) >= 40 for grant in grants)
    assert {grant.flow_url for grant in grants} == {"https://moltnet.test/recovery/complete"}
    for grant in grants:
        assert timedelta(seconds=599) < grant.expires_at - before < timedelta(seconds=601)
        assert grant.code not in repr(grant)


async def test_ping_and_kind(session_factory: async_sessionmaker[AsyncSession]) -> None:
    backend = backend_on(session_factory)
    await backend.ping()
    assert backend.kind == "embedded"
    assert backend.using(session_factory) is backend
