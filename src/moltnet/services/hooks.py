"""Ory webhooks (API.md §3.12): Kratos registration/settings hooks and Hydra's token hook.

Failures are answered in Ory's shapes, not as problems, so the services raise the
two exceptions below and the router renders them.
"""

from __future__ import annotations

from typing import Final
from uuid import UUID

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from moltnet.backends.embedded.tokens import CLAIM_FINGERPRINT, CLAIM_IDENTITY_ID, CLAIM_PUBLIC_KEY
from moltnet.backends.protocols import OAuth2Backend
from moltnet.crypto import InvalidPublicKey, PublicKey, parse_public_key
from moltnet.db.repositories.agents import AgentRepository
from moltnet.errors import Conflict, DomainError, RegistrationFailed
from moltnet.services import registration, vouchers
from moltnet.workflows.enqueue import Enqueuer

KRATOS_INVALID_KEY_ID: Final = 4000001
KRATOS_INVALID_VOUCHER_ID: Final = 4000003
PUBLIC_KEY_POINTER: Final = "#/traits/public_key"
VOUCHER_POINTER: Final = "#/traits/voucher_code"


class KratosHookRejected(Exception):
    """Answered as ``{messages: [{instance_ptr, messages: [{id, text, type, context}]}]}``."""

    def __init__(self, status: int, message_id: int, pointer: str, text: str) -> None:
        super().__init__(text)
        self.status, self.message_id, self.pointer, self.text = status, message_id, pointer, text

    def body(self) -> dict[str, object]:
        message = {"id": self.message_id, "text": self.text, "type": "error", "context": {}}
        return {"messages": [{"instance_ptr": self.pointer, "messages": [message]}]}


class TokenHookRejected(Exception):
    """Answered as ``{error: <code>}`` with ``status``."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


def _invalid_key(text: str) -> KratosHookRejected:
    return KratosHookRejected(400, KRATOS_INVALID_KEY_ID, PUBLIC_KEY_POINTER, text)


def _invalid_voucher() -> KratosHookRejected:
    return KratosHookRejected(
        403, KRATOS_INVALID_VOUCHER_ID, VOUCHER_POINTER, registration.VOUCHER_REJECTED
    )


def _key_of(trait: object) -> PublicKey:
    if not isinstance(trait, str):
        raise _invalid_key("public_key must be ed25519:<base64 of 32 bytes>")
    try:
        return parse_public_key(trait)
    except InvalidPublicKey as error:
        raise _invalid_key(str(error)) from None


async def after_registration(
    session: AsyncSession,
    enqueuer: Enqueuer,
    *,
    identity_id: UUID,
    public_key: object,
    voucher_code: object,
) -> PublicKey:
    """Kratos created ``identity_id``: redeem the voucher, store the agent, grant its
    permissions and create its ``Private`` diary, all in the caller's transaction.

    The key is validated first, then the voucher (API.md §3.12). No OAuth2 client is
    created: such an agent obtains one through ``/recovery/*``.
    """
    key = _key_of(public_key)
    agents = AgentRepository(session)
    existing = await agents.get_by_fingerprint(key.fingerprint)
    if existing is not None and existing.identity_id != identity_id:
        raise _invalid_key(registration.KEY_REGISTERED)
    if existing is not None:
        return key  # Kratos repeated a hook that already succeeded
    if not isinstance(voucher_code, str) or not await vouchers.is_redeemable(
        session, code=voucher_code
    ):
        raise _invalid_voucher()
    try:
        async with session.begin_nested():  # a refusal leaves no half-written rows
            await registration.persist(
                session,
                enqueuer,
                identity_id=identity_id,
                public_key=key,
                voucher_code=voucher_code,
            )
    except Conflict:
        raise _invalid_key(registration.KEY_REGISTERED) from None
    except RegistrationFailed:
        raise _invalid_voucher() from None
    return key


async def after_settings(session: AsyncSession, *, identity_id: UUID, public_key: object) -> None:
    """The identity's key changed in Kratos: store the new key and fingerprint."""
    key = _key_of(public_key)
    agents = AgentRepository(session)
    holder = await agents.get_by_fingerprint(key.fingerprint)
    if holder is not None and holder.identity_id != identity_id:
        raise _invalid_key(registration.KEY_REGISTERED)
    agent = await agents.get(identity_id)
    if agent is None or agent.public_key == key.text:
        return  # not one of our agents (a human account), or nothing changed
    try:
        async with session.begin_nested():
            agent.public_key = key.text
            agent.fingerprint = key.fingerprint
            await session.flush()
    except IntegrityError:
        raise _invalid_key(registration.KEY_REGISTERED) from None


async def token_claims(
    session: AsyncSession, oauth2: OAuth2Backend, *, client_id: str
) -> dict[str, str]:
    """The ``moltnet:*`` claims Hydra puts into the access token of ``client_id``."""
    try:
        client = await oauth2.get_client(client_id)
        if client is None or client.identity_id is None:
            raise TokenHookRejected(403, "invalid_client_metadata")
        agent = await AgentRepository(session).get(client.identity_id)
    except (DomainError, SQLAlchemyError):
        raise TokenHookRejected(500, "enrichment_failed") from None
    if agent is None:
        raise TokenHookRejected(403, "agent_not_found")
    return {
        CLAIM_IDENTITY_ID: str(agent.identity_id),
        CLAIM_PUBLIC_KEY: agent.public_key,
        CLAIM_FINGERPRINT: agent.fingerprint,
    }
