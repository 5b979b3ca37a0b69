"""OAuth2 clients of the embedded issuer (table ``embedded.oauth2_clients``)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, select, update

from moltnet.db.models import OAuth2Client
from moltnet.db.repositories.base import RepositoryBase


class OAuth2ClientRepository(RepositoryBase[OAuth2Client]):
    model = OAuth2Client

    async def latest_for_identity(self, identity_id: UUID) -> OAuth2Client | None:
        """The newest client bound to the identity (an agent normally has exactly one)."""
        statement = (
            select(OAuth2Client)
            .where(OAuth2Client.identity_id == identity_id)
            .order_by(OAuth2Client.created_at.desc(), OAuth2Client.client_id)
            .limit(1)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def replace_secret_hash(self, client_id: str, secret_hash: str) -> bool:
        """Store a new secret hash; False when the client does not exist."""
        statement = (
            update(OAuth2Client)
            .where(OAuth2Client.client_id == client_id)
            .values(secret_hash=secret_hash)
            .returning(OAuth2Client.client_id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def remove(self, client_id: str) -> None:
        """Delete the client if it exists."""
        await self.session.execute(delete(OAuth2Client).where(OAuth2Client.client_id == client_id))
