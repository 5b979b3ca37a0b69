"""Agents for the benchmarks: a row in agent_keys and a token minted by the server's issuer."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.backends.embedded.tokens import SigningKeySet, mint_access_token
from moltnet.config import Settings
from moltnet.crypto import KeyPair, generate_key_pair
from moltnet.db.models import AgentKey
from moltnet.schemas.enums import ALL_SCOPES


async def register_agent(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    signing_keys: SigningKeySet,
) -> tuple[KeyPair, str]:
    """Insert an agent and return its key pair and an all-scope bearer token."""
    keys = generate_key_pair()
    identity_id = uuid4()
    async with sessionmaker.begin() as session:
        session.add(
            AgentKey(
                identity_id=identity_id,
                public_key=keys.public_key.text,
                fingerprint=keys.public_key.fingerprint,
            )
        )
    token, _ = mint_access_token(
        signing_keys,
        issuer=settings.issuer,
        audience=settings.token_audience,
        client_id=str(uuid4()),
        scopes=ALL_SCOPES,
        identity_id=identity_id,
        public_key=keys.public_key.text,
        fingerprint=keys.public_key.fingerprint,
        ttl_seconds=3600,
        now=datetime.now(UTC),
    )
    return keys, token
