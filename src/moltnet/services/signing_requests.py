"""Signing requests: the agent signs server-issued bytes locally; the server verifies.

Life of a request (API.md §3.4, the seed's signing sequence):

1. ``create`` stores the row and enqueues ``signing.request_signature`` in the same
   transaction; the workflow waits (``recv``) until ``expires_at``.
2. ``submit`` *claims* the request by writing the signature under a row lock while it is
   pending and unexpired, and sends the workflow a wake-up in the same transaction, so
   exactly one submission wins and a claim never exists without its message.
3. The workflow's ``finalize`` verifies a claimed signature (``completed`` + ``valid``)
   or expires an unclaimed request. Whatever woke it, the row is the truth: a claim that
   raced the deadline is still verified, never lost.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet import crypto
from moltnet.db.models import AgentKey, SigningRequest
from moltnet.db.repositories.agents import AgentRepository
from moltnet.db.repositories.signing_requests import SigningRequestRepository
from moltnet.errors import (
    NotFound,
    SigningRequestAlreadyCompleted,
    SigningRequestExpired,
    SigningRequestLimitReached,
    ValidationFailed,
)
from moltnet.schemas.base import Page
from moltnet.schemas.enums import SigningRequestStatus
from moltnet.schemas.signing_requests import SigningRequestRead
from moltnet.workflows.enqueue import Enqueuer, WorkflowName

logger = structlog.get_logger(__name__)

SIGNATURE_TOPIC = "signature"
RESULT_EVENT = "result"
ENVELOPE_EVENT = "envelope"
POLL_INTERVAL_SECONDS = 0.05


def _utcnow() -> datetime:
    return datetime.now(UTC)


def workflow_id_for(request_id: UUID) -> str:
    return f"signing:{request_id}"


def reported_status(row: SigningRequest, *, now: datetime) -> SigningRequestStatus:
    """Pending past ``expires_at`` reads ``expired``, unless a claim is being verified."""
    if (
        row.status is SigningRequestStatus.pending
        and row.signature is None
        and now >= row.expires_at
    ):
        return SigningRequestStatus.expired
    return row.status


def present(row: SigningRequest, *, now: datetime | None = None) -> SigningRequestRead:
    """The API shape; a claimed signature stays hidden until the workflow has verified it."""
    status = reported_status(row, now=now or _utcnow())
    completed = status is SigningRequestStatus.completed
    return SigningRequestRead(
        id=row.id,
        agent_id=row.agent_id,
        message=row.message,
        nonce=row.nonce,
        signing_input=crypto.signing_input_base64(row.message, row.nonce),
        status=status,
        signature=row.signature if completed else None,
        valid=row.valid if completed else None,
        created_at=row.created_at,
        expires_at=row.expires_at,
        completed_at=row.completed_at,
    )


def _decode_signature(signature: str) -> bytes:
    try:
        return crypto.decode_signature(signature)
    except crypto.InvalidSignatureEncoding as error:
        raise ValidationFailed(
            "the signature is not a base64 Ed25519 signature",
            field="body.signature",
            message=str(error),
        ) from None


def _not_found(request_id: UUID) -> NotFound:
    return NotFound(f"signing request {request_id} not found")


async def create(
    session: AsyncSession,
    enqueuer: Enqueuer,
    *,
    agent_id: UUID,
    message: str,
    ttl_seconds: int,
    max_pending: int,
) -> SigningRequest:
    repository = SigningRequestRepository(session)
    # Concurrent creates of one agent queue on its agent_keys row, so the count below
    # cannot be read by two transactions that both then insert the 11th request.
    if not await repository.lock_agent(agent_id):
        raise NotFound("no agent is registered for this identity")
    now = _utcnow()
    expiries = await repository.pending_expiries(agent_id, now=now)
    if len(expiries) >= max_pending:
        retry_after = max(1, math.ceil((expiries[0] - now).total_seconds()))
        raise SigningRequestLimitReached(
            f"{len(expiries)} signing requests are pending; sign or let one expire first",
            headers={"Retry-After": str(retry_after)},
            retryAfter=retry_after,
        )
    request_id = uuid4()
    row = SigningRequest(
        id=request_id,
        agent_id=agent_id,
        message=message,
        nonce=uuid4(),
        status=SigningRequestStatus.pending,
        workflow_id=workflow_id_for(request_id),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    await repository.add(row)
    await enqueuer.enqueue(
        session,
        WorkflowName.signing_request_signature,
        str(request_id),
        workflow_id=row.workflow_id,
    )
    logger.info("signing request created", request_id=str(request_id), agent_id=str(agent_id))
    return row


async def get(session: AsyncSession, *, agent_id: UUID, request_id: UUID) -> SigningRequest:
    row = await SigningRequestRepository(session).get_of_agent(request_id, agent_id=agent_id)
    if row is None:
        raise _not_found(request_id)  # another agent's request looks exactly like none
    return row


async def list_requests(
    session: AsyncSession,
    *,
    agent_id: UUID,
    statuses: Sequence[SigningRequestStatus] | None,
    limit: int,
    offset: int,
) -> Page[SigningRequestRead]:
    now = _utcnow()
    rows, total = await SigningRequestRepository(session).list_of_agent(
        agent_id, statuses=statuses, now=now, limit=limit, offset=offset
    )
    return Page[SigningRequestRead](
        items=[present(row, now=now) for row in rows], total=total, limit=limit, offset=offset
    )


async def submit(
    session: AsyncSession,
    enqueuer: Enqueuer,
    *,
    agent_id: UUID,
    request_id: UUID,
    signature: str,
) -> None:
    """Claim the request for ``signature`` and wake its workflow (both commit together)."""
    _decode_signature(signature)  # malformed: 400, and the request stays pending
    repository = SigningRequestRepository(session)
    # The lock orders concurrent submissions: the loser reads the winner's claim.
    row = await repository.get_for_update(request_id)
    if row is None or row.agent_id != agent_id:
        raise _not_found(request_id)
    if row.status is SigningRequestStatus.completed or row.signature is not None:
        raise SigningRequestAlreadyCompleted(f"signing request {request_id} was already signed")
    now = _utcnow()
    if row.status is SigningRequestStatus.expired or now >= row.expires_at:
        raise SigningRequestExpired(f"signing request {request_id} expired at its expiresAt")
    if not await repository.claim(request_id, signature=signature, now=now):
        raise SigningRequestAlreadyCompleted(f"signing request {request_id} was already signed")
    await enqueuer.send(
        session,
        row.workflow_id,
        signature,
        topic=SIGNATURE_TOPIC,
        idempotency_key=f"{row.workflow_id}:signature",
    )


async def wait_for_result(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    agent_id: UUID,
    request_id: UUID,
    timeout_seconds: float,
) -> SigningRequest:
    """The row once the workflow has finished with it, or as it stands at the deadline.

    Polls the row (one short read per interval) rather than the workflow's event: the row
    is what the client sees, and this works the same in a process that does not run DBOS.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    while True:
        async with sessionmaker() as session:
            row = await get(session, agent_id=agent_id, request_id=request_id)
        if row.status is not SigningRequestStatus.pending or loop.time() >= deadline:
            return row
        await asyncio.sleep(min(POLL_INTERVAL_SECONDS, max(0.0, deadline - loop.time())))


def _verifies(row: SigningRequest, agent: AgentKey, signature: bytes) -> bool:
    try:
        public_key = crypto.parse_public_key(agent.public_key)
    except crypto.InvalidPublicKey:
        return False
    return crypto.verify_signing_input(public_key, row.message, row.nonce, signature)


async def verify(session: AsyncSession, *, signature: str) -> bool:
    """Whether a completed request carries ``signature`` and it verifies (§3.3)."""
    raw = _decode_signature(signature)
    matches = await SigningRequestRepository(session).find_completed_by_signature(signature)
    return any(_verifies(row, agent, raw) for row, agent in matches)


async def verify_for_agent(
    session: AsyncSession, *, fingerprint: str, signature: str
) -> str | None:
    """The signer's fingerprint when ``signature`` is that agent's and verifies, else None.

    Raises NotFound for an unknown agent; an unknown signature is simply not valid.
    """
    try:
        canonical = crypto.normalize_fingerprint(fingerprint)
    except crypto.InvalidFingerprint as error:
        raise ValidationFailed(
            "malformed fingerprint", field="path.fingerprint", message=str(error)
        ) from None
    raw = _decode_signature(signature)
    agent = await AgentRepository(session).get_by_fingerprint(canonical)
    if agent is None:
        raise NotFound(f"agent {canonical} not found")
    matches = await SigningRequestRepository(session).find_completed_by_signature(signature)
    for row, requester in matches:
        if requester.identity_id == agent.identity_id and _verifies(row, requester, raw):
            return agent.fingerprint
    return None


# --- the workflow's steps (workflows/signing_requests.py) --------------------------------


async def envelope(session: AsyncSession, *, request_id: UUID) -> dict[str, Any] | None:
    """What the workflow publishes and how long it may wait; None if the row is gone."""
    row = await SigningRequestRepository(session).get(request_id)
    if row is None:
        return None
    remaining = (row.expires_at - _utcnow()).total_seconds()
    return {
        "requestId": str(row.id),
        "agentId": str(row.agent_id),
        "nonce": str(row.nonce),
        "signingInput": crypto.signing_input_base64(row.message, row.nonce),
        "expiresAt": row.expires_at.isoformat(),
        "status": row.status.value,
        "remainingSeconds": max(0.0, remaining),
    }


async def finalize(session: AsyncSession, *, request_id: UUID) -> dict[str, Any]:
    """Verify a claimed request or expire an unclaimed one; idempotent (runs at least once)."""
    repository = SigningRequestRepository(session)
    row = await repository.get_for_update(request_id)
    if row is None:
        return {"status": "missing", "valid": None}
    status, valid = row.status, row.valid
    if status is SigningRequestStatus.pending:
        if row.signature is None:
            await repository.expire(request_id)
            status = SigningRequestStatus.expired
        else:
            agent = await AgentRepository(session).get(row.agent_id)
            try:
                raw = crypto.decode_signature(row.signature)
            except crypto.InvalidSignatureEncoding:
                raw = b""  # submit refuses these; a hand-written row simply fails to verify
            valid = agent is not None and _verifies(row, agent, raw)
            await repository.complete(request_id, valid=valid, now=_utcnow())
            status = SigningRequestStatus.completed
        logger.info(
            "signing request finished", request_id=str(request_id), status=status.value, valid=valid
        )
    return {"status": status.value, "valid": valid}
