"""Diary shares (invitations). State changes are single conditional statements so that
concurrent accepts, declines, revokes and re-invites of one share serialise on its row."""

from __future__ import annotations

from typing import NamedTuple
from uuid import UUID

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import aliased

from moltnet.db.models import AgentKey, Diary, DiaryShare
from moltnet.db.repositories.base import RepositoryBase
from moltnet.schemas.enums import ShareRole, ShareStatus

# Statuses that still hold (or are about to hold) a relation; the others can be re-invited.
LIVE_STATUSES = (ShareStatus.pending, ShareStatus.accepted)


class ShareDetails(NamedTuple):
    """A share with what the API shows about it: the diary's name and both fingerprints."""

    share: DiaryShare
    diary_name: str
    owner_fingerprint: str
    shared_with_fingerprint: str


def _details() -> Select[DiaryShare, str, str, str]:
    owner = aliased(AgentKey)
    invitee = aliased(AgentKey)
    return (
        select(DiaryShare, Diary.name, owner.fingerprint, invitee.fingerprint)
        .join(Diary, Diary.id == DiaryShare.diary_id)
        .join(owner, owner.identity_id == Diary.owner_id)
        .join(invitee, invitee.identity_id == DiaryShare.shared_with)
    )


class ShareRepository(RepositoryBase[DiaryShare]):
    model = DiaryShare

    async def find(self, diary_id: UUID, agent_id: UUID) -> DiaryShare | None:
        statement = select(DiaryShare).where(
            DiaryShare.diary_id == diary_id, DiaryShare.shared_with == agent_id
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def status_and_role(
        self, diary_id: UUID, agent_id: UUID
    ) -> tuple[ShareStatus, ShareRole] | None:
        statement = select(DiaryShare.status, DiaryShare.role).where(
            DiaryShare.diary_id == diary_id, DiaryShare.shared_with == agent_id
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def details(self, share_id: UUID) -> ShareDetails | None:
        row = (
            await self.session.execute(_details().where(DiaryShare.id == share_id))
        ).one_or_none()
        return None if row is None else ShareDetails(row[0], row[1], row[2], row[3])

    async def list_for_diary(self, diary_id: UUID) -> list[ShareDetails]:
        statement = (
            _details()
            .where(DiaryShare.diary_id == diary_id)
            .order_by(DiaryShare.invited_at.desc(), DiaryShare.id.desc())
        )
        return [
            ShareDetails(row[0], row[1], row[2], row[3])
            for row in await self.session.execute(statement)
        ]

    async def list_pending_for(self, agent_id: UUID) -> list[ShareDetails]:
        statement = (
            _details()
            .where(DiaryShare.shared_with == agent_id, DiaryShare.status == ShareStatus.pending)
            .order_by(DiaryShare.invited_at.desc(), DiaryShare.id.desc())
        )
        return [
            ShareDetails(row[0], row[1], row[2], row[3])
            for row in await self.session.execute(statement)
        ]

    async def invite(self, diary_id: UUID, agent_id: UUID, role: ShareRole) -> UUID | None:
        """Create the invitation, or reset a declined/revoked one to pending.

        Returns the share id, or ``None`` when a pending or accepted share already exists.
        """
        inserted = insert(DiaryShare).values(
            diary_id=diary_id, shared_with=agent_id, role=role, status=ShareStatus.pending
        )
        statement = inserted.on_conflict_do_update(
            constraint="uq_diary_shares_diary_id_shared_with",
            set_={
                "role": inserted.excluded.role,
                "status": ShareStatus.pending,
                "invited_at": func.clock_timestamp(),
                "responded_at": None,
            },
            where=DiaryShare.status.not_in(LIVE_STATUSES),
        ).returning(DiaryShare.id)
        share_id: UUID | None = await self.session.scalar(statement)
        return share_id

    async def respond(
        self, share_id: UUID, agent_id: UUID, status: ShareStatus
    ) -> DiaryShare | None:
        """Move the caller's pending invitation to ``status``; ``None`` if it was not pending."""
        statement = (
            update(DiaryShare)
            .where(
                DiaryShare.id == share_id,
                DiaryShare.shared_with == agent_id,
                DiaryShare.status == ShareStatus.pending,
            )
            .values(status=status, responded_at=func.clock_timestamp())
            .returning(DiaryShare)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def revoke(self, diary_id: UUID, agent_id: UUID) -> DiaryShare | None:
        """Revoke a pending or accepted share; ``None`` if there is none to revoke."""
        statement = (
            update(DiaryShare)
            .where(
                DiaryShare.diary_id == diary_id,
                DiaryShare.shared_with == agent_id,
                DiaryShare.status.in_(LIVE_STATUSES),
            )
            .values(status=ShareStatus.revoked, responded_at=func.clock_timestamp())
            .returning(DiaryShare)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(statement)).one_or_none()
