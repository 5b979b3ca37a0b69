"""Agent registration: the request side, and the rules the registration workflow's steps run.

The request checks the obvious failures at once, then enqueues the durable workflow
``registration.register_agent`` in its own transaction (so "the request was accepted"
and "the workflow exists" commit together) and waits for the workflow's outcome.

The client secret never enters DBOS: the workflow's client step keeps only the client
id (DBOS stores every step output and the workflow result in its tables, in clear).
Once the workflow has finished, the request rotates the secret and hands the new one
to the caller. The price: if the request dies between the workflow's end and the
rotation, the agent exists without a known secret and obtains one through
``/recovery/*`` (its key is all it needs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.backends.protocols import IdentityBackend, OAuth2Backend
from moltnet.crypto import InvalidPublicKey, PublicKey, parse_public_key
from moltnet.db.models import AgentKey
from moltnet.db.repositories.agents import AgentRepository
from moltnet.db.repositories.diaries import DiaryRepository
from moltnet.errors import (
    Conflict,
    DomainError,
    RegistrationFailed,
    ServiceUnavailable,
    UpstreamError,
    ValidationFailed,
)
from moltnet.schemas.enums import ALL_SCOPES, Visibility
from moltnet.schemas.registration import RegistrationResult
from moltnet.services import diaries, vouchers
from moltnet.services.authz import Authz, self_tuple
from moltnet.workflows.enqueue import Enqueuer, WorkflowName

PRIVATE_DIARY_NAME: Final = "Private"
WORKFLOW_TIMEOUT_SECONDS: Final = 30.0

VOUCHER_REJECTED: Final = "the voucher is missing, already redeemed or expired"
KEY_REGISTERED: Final = "this public key is already registered"

# Outcomes the workflow reports (its result is data, not a pickled exception).
OUTCOME_ERRORS: Final[dict[str, type[DomainError]]] = {
    RegistrationFailed.problem.slug: RegistrationFailed,
    Conflict.problem.slug: Conflict,
    UpstreamError.problem.slug: UpstreamError,
}
OUTCOME_DETAILS: Final = {
    RegistrationFailed.problem.slug: VOUCHER_REJECTED,
    Conflict.problem.slug: KEY_REGISTERED,
    UpstreamError.problem.slug: "an identity or OAuth2 backend failed; nothing was kept",
}


def register_workflow_id() -> str:
    return f"registration:register-agent:{uuid4()}"


def register_agent_workflow_id(identity_id: UUID) -> str:
    return f"keto:register-agent:{identity_id}"


def parse_key(text: str, *, field: str = "body.public_key") -> PublicKey:
    try:
        return parse_public_key(text)
    except InvalidPublicKey as error:
        raise ValidationFailed(str(error), field=field) from None


async def check(session: AsyncSession, *, public_key: PublicKey, voucher_code: str) -> None:
    """Raise if the key is taken or the voucher unusable; the workflow checks again."""
    if await AgentRepository(session).get_by_fingerprint(public_key.fingerprint) is not None:
        raise Conflict(KEY_REGISTERED)
    if not await vouchers.is_redeemable(session, code=voucher_code):
        raise RegistrationFailed(VOUCHER_REJECTED)


async def start(
    session: AsyncSession, enqueuer: Enqueuer, *, public_key: PublicKey, voucher_code: str
) -> str:
    """Enqueue the registration workflow in the caller's transaction; return its id."""
    await check(session, public_key=public_key, voucher_code=voucher_code)
    workflow_id = register_workflow_id()
    await enqueuer.enqueue(
        session,
        WorkflowName.registration_register_agent,
        public_key.text,
        voucher_code,
        workflow_id=workflow_id,
    )
    return workflow_id


async def finish(
    enqueuer: Enqueuer,
    oauth2: OAuth2Backend,
    *,
    workflow_id: str,
    timeout_seconds: float = WORKFLOW_TIMEOUT_SECONDS,
) -> RegistrationResult:
    """Wait for the committed workflow, then issue the client secret the caller sees."""
    try:
        outcome = await enqueuer.wait_result(workflow_id, timeout_seconds=timeout_seconds)
    except TimeoutError:
        raise ServiceUnavailable(
            "registration did not finish in time; it goes on in the background"
        ) from None
    if not isinstance(outcome, dict):
        raise TypeError(f"unexpected registration outcome {type(outcome).__name__}")
    error = outcome.get("error")
    if error is not None:
        raise OUTCOME_ERRORS[error](OUTCOME_DETAILS[error])
    credentials = await oauth2.rotate_secret(outcome["clientId"])
    return RegistrationResult(
        identity_id=outcome["identityId"],
        fingerprint=outcome["fingerprint"],
        public_key=outcome["publicKey"],
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
    )


async def persist(
    session: AsyncSession,
    enqueuer: Enqueuer,
    *,
    identity_id: UUID,
    public_key: PublicKey,
    voucher_code: str | None,
) -> AgentKey:
    """In the caller's one transaction: the agent row, the voucher redemption, the
    ``Private`` diary (and its owner grant) and the ``Agent#self`` grant.

    Raises ``Conflict`` for a taken key and ``RegistrationFailed`` when the voucher is
    gone (another registration redeemed it first); the caller's rollback then undoes
    everything. Re-running it for an identity that already has its row is a no-op.
    ``voucher_code=None`` is the genesis agent's case: it joins without a voucher.
    """
    agents = AgentRepository(session)
    existing = await agents.get(identity_id)
    if existing is not None:
        return existing
    if await agents.get_by_fingerprint(public_key.fingerprint) is not None:
        raise Conflict(KEY_REGISTERED)
    try:
        agent = await agents.add(
            AgentKey(
                identity_id=identity_id,
                public_key=public_key.text,
                fingerprint=public_key.fingerprint,
            )
        )
    except IntegrityError:  # a concurrent registration of the same key committed first
        raise Conflict(KEY_REGISTERED) from None
    if voucher_code is not None and not await vouchers.redeem(
        session, code=voucher_code, redeemed_by=identity_id
    ):
        raise RegistrationFailed(VOUCHER_REJECTED)
    await diaries.create(
        session,
        enqueuer,
        owner_id=identity_id,
        name=PRIVATE_DIARY_NAME,
        visibility=Visibility.private,
    )
    await enqueuer.enqueue(
        session,
        WorkflowName.keto_register_agent,
        str(identity_id),
        workflow_id=register_agent_workflow_id(identity_id),
    )
    return agent


async def revoke_agent_self(authz: Authz, *, identity_id: UUID) -> None:
    """Delete the ``Agent#self`` tuple of a registration that was compensated."""
    await authz.delete_tuples([self_tuple(identity_id)])


async def remove(
    session: AsyncSession, enqueuer: Enqueuer, *, identity_id: UUID, voucher_code: str
) -> None:
    """Undo ``persist`` (compensation): release the voucher, delete the agent and its
    diaries, and enqueue the removal of the diaries' tuples. Idempotent."""
    await vouchers.release(session, code=voucher_code, redeemed_by=identity_id)
    agents = AgentRepository(session)
    agent = await agents.get(identity_id)
    if agent is None:
        return
    diary_ids = (
        await session.scalars(DiaryRepository.accessible_ids(identity_id, include_shared=False))
    ).all()
    await session.delete(agent)  # the database cascades to its diaries
    await session.flush()
    for diary_id in diary_ids:
        # keto.grant_owner converges to the rows, so it cannot re-create what this removes.
        await enqueuer.enqueue(
            session,
            WorkflowName.keto_remove_diary,
            str(diary_id),
            workflow_id=diaries.remove_diary_workflow_id(diary_id),
        )


@dataclass(frozen=True)
class GenesisResult:
    identity_id: UUID
    public_key: PublicKey
    client_id: str
    client_secret: str | None  # None: the agent existed and its secret was kept
    vouchers: list[str]


async def genesis(
    sessionmaker: async_sessionmaker[AsyncSession],
    enqueuer: Enqueuer,
    identity: IdentityBackend,
    oauth2: OAuth2Backend,
    *,
    public_key: PublicKey,
    voucher_count: int,
    rotate_secret: bool,
) -> GenesisResult:
    """Bootstrap (or find) a voucher-less genesis agent and issue it uncapped vouchers.

    Operators run this to start a network. A second run for the same key finds the
    agent and only issues vouchers; its secret is stored hashed, so it is shown again
    only when ``rotate_secret`` asks for a new one.
    """
    async with sessionmaker() as session:
        agent = await AgentRepository(session).get_by_fingerprint(public_key.fingerprint)
    if agent is not None and agent.public_key != public_key.text:
        raise Conflict("another key with the same fingerprint is registered")
    if agent is None:
        # The identity schema asks for a voucher trait; a genesis agent has none, so it
        # carries a random code that no voucher row ever had.
        identity_id = await identity.create_identity(
            public_key=public_key.text, voucher_code=vouchers.new_code()
        )
        try:
            async with sessionmaker.begin() as session:
                await persist(
                    session,
                    enqueuer,
                    identity_id=identity_id,
                    public_key=public_key,
                    voucher_code=None,
                )
        except BaseException:
            await identity.delete_identity(identity_id)
            raise
    else:
        identity_id = agent.identity_id

    secret: str | None = None
    client = await oauth2.find_client_for_identity(identity_id)
    if client is None:
        credentials = await oauth2.create_client(
            identity_id=identity_id,
            public_key=public_key.text,
            fingerprint=public_key.fingerprint,
            scopes=ALL_SCOPES,
        )
        client_id, secret = credentials.client_id, credentials.client_secret
    elif rotate_secret:
        credentials = await oauth2.rotate_secret(client.client_id)
        client_id, secret = credentials.client_id, credentials.client_secret
    else:
        client_id = client.client_id

    async with sessionmaker.begin() as session:
        codes = [
            (await vouchers.issue_in(session, issuer_id=identity_id, capped=False)).code
            for _ in range(voucher_count)
        ]
    return GenesisResult(
        identity_id=identity_id,
        public_key=public_key,
        client_id=client_id,
        client_secret=secret,
        vouchers=codes,
    )
