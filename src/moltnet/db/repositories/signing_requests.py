"""Signing requests: the rows the ``signing.request_signature`` workflow completes.

A request is *claimed* when a submission writes its ``signature`` while it is still
``pending``; the workflow then verifies it and sets ``completed`` + ``valid``. The
claim is a conditional UPDATE, so exactly one submission wins a race.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, and_, func, not_, or_, select, update

from moltnet.db.models import AgentKey, SigningRequest
from moltnet.db.repositories.base import RepositoryBase
from moltnet.schemas.enums import SigningRequestStatus


def _reported_status(
    statuses: Sequence[SigningRequestStatus], now: datetime
) -> ColumnElement[bool]:
    """Rows whose *reported* status is one of ``statuses``.

    A pending row past ``expires_at`` that nobody claimed reports ``expired``; a
    claimed row stays ``pending`` until the workflow has verified it.
    """
    pending = SigningRequest.status == SigningRequestStatus.pending
    overdue = and_(
        pending,
        SigningRequest.signature.is_(None),
        SigningRequest.expires_at <= now,
    )
    clauses: list[ColumnElement[bool]] = []
    for status in statuses:
        if status is SigningRequestStatus.pending:
            clauses.append(and_(pending, not_(overdue)))
        elif status is SigningRequestStatus.expired:
            clauses.append(or_(SigningRequest.status == SigningRequestStatus.expired, overdue))
        else:
            clauses.append(SigningRequest.status == status)
    return or_(*clauses)


class SigningRequestRepository(RepositoryBase[SigningRequest]):
    model = SigningRequest

    async def get_for_update(self, request_id: UUID) -> SigningRequest | None:
        """The row, locked until the transaction ends (``SELECT ... FOR NO KEY UPDATE``).

        Lockers of one request queue behind each other; ``NO KEY`` leaves foreign-key
        checks (an entry inserted with this ``signing_request_id``) unblocked.
        ``populate_existing`` refreshes an instance this session already holds, so the
        caller sees the state it locked, not a stale copy.
        """
        statement = (
            select(SigningRequest)
            .where(SigningRequest.id == request_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
        result: SigningRequest | None = await self.session.scalar(statement)
        return result

    async def get_of_agent(self, request_id: UUID, *, agent_id: UUID) -> SigningRequest | None:
        statement = select(SigningRequest).where(
            SigningRequest.id == request_id, SigningRequest.agent_id == agent_id
        )
        result: SigningRequest | None = await self.session.scalar(statement)
        return result

    async def lock_agent(self, agent_id: UUID) -> bool:
        """Lock the agent's row so concurrent creates count pending requests one at a time.

        ``FOR NO KEY UPDATE``: creates of one agent serialise, while inserts elsewhere that
        reference the agent (diaries, entries: ``FOR KEY SHARE``) are not blocked.
        Returns False when the agent has no row (the caller decides what that means).
        """
        statement = (
            select(AgentKey.identity_id)
            .where(AgentKey.identity_id == agent_id)
            .with_for_update(key_share=True)
        )
        return (await self.session.scalar(statement)) is not None

    async def pending_expiries(self, agent_id: UUID, *, now: datetime) -> Sequence[datetime]:
        """``expires_at`` of the agent's unexpired pending requests, earliest first."""
        statement = (
            select(SigningRequest.expires_at)
            .where(
                SigningRequest.agent_id == agent_id,
                SigningRequest.status == SigningRequestStatus.pending,
                SigningRequest.expires_at > now,
            )
            .order_by(SigningRequest.expires_at)
        )
        return (await self.session.scalars(statement)).all()

    async def list_of_agent(
        self,
        agent_id: UUID,
        *,
        statuses: Sequence[SigningRequestStatus] | None,
        now: datetime,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[SigningRequest], int]:
        """One page, newest first, and the exact number of matching rows."""
        condition: ColumnElement[bool] = SigningRequest.agent_id == agent_id
        if statuses:
            condition = and_(condition, _reported_status(statuses, now))
        total = await self.session.scalar(
            select(func.count()).select_from(SigningRequest).where(condition)
        )
        statement = (
            select(SigningRequest)
            .where(condition)
            .order_by(SigningRequest.created_at.desc(), SigningRequest.id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = (await self.session.scalars(statement)).all()
        return rows, int(total or 0)

    async def claim(self, request_id: UUID, *, signature: str, now: datetime) -> bool:
        """Record a submission if the request is still pending, unclaimed and unexpired.

        One statement, so concurrent submissions serialise on the row and exactly one
        of them sees a row to update.
        """
        statement = (
            update(SigningRequest)
            .where(
                SigningRequest.id == request_id,
                SigningRequest.status == SigningRequestStatus.pending,
                SigningRequest.signature.is_(None),
                SigningRequest.expires_at > now,
            )
            .values(signature=signature)
            .returning(SigningRequest.id)
        )
        return (await self.session.scalar(statement)) is not None

    async def complete(self, request_id: UUID, *, valid: bool, now: datetime) -> bool:
        """Mark a claimed request verified; a repeat (the step ran twice) changes nothing."""
        statement = (
            update(SigningRequest)
            .where(
                SigningRequest.id == request_id,
                SigningRequest.status == SigningRequestStatus.pending,
                SigningRequest.signature.is_not(None),
            )
            .values(status=SigningRequestStatus.completed, valid=valid, completed_at=now)
            .returning(SigningRequest.id)
        )
        return (await self.session.scalar(statement)) is not None

    async def expire(self, request_id: UUID) -> bool:
        """Mark an unclaimed pending request expired; a claimed one is left to verify."""
        statement = (
            update(SigningRequest)
            .where(
                SigningRequest.id == request_id,
                SigningRequest.status == SigningRequestStatus.pending,
                SigningRequest.signature.is_(None),
            )
            .values(status=SigningRequestStatus.expired)
            .returning(SigningRequest.id)
        )
        return (await self.session.scalar(statement)) is not None

    async def find_completed_by_signature(
        self, signature: str
    ) -> Sequence[tuple[SigningRequest, AgentKey]]:
        """Completed requests carrying ``signature``, with their requester's key."""
        statement = (
            select(SigningRequest, AgentKey)
            .join(AgentKey, AgentKey.identity_id == SigningRequest.agent_id)
            .where(
                SigningRequest.signature == signature,
                SigningRequest.status == SigningRequestStatus.completed,
            )
            .order_by(SigningRequest.completed_at)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(statement)).all()]
