"""Sharing a diary: invitations, answers and revocations (API.md §3.6).

Share management is decided from rows (owner only), never from the permission
backend. Accept and revoke enqueue their tuple workflow in the same transaction as
the status change; each workflow id carries the share's ``respondedAt``, so an
accept → revoke → re-invite → accept history gets one workflow per event while a
retried enqueue of the same event dedupes.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from moltnet.db.models import DiaryShare
from moltnet.db.repositories.agents import AgentRepository
from moltnet.db.repositories.shares import ShareDetails, ShareRepository
from moltnet.errors import Conflict, NotFound, ValidationFailed
from moltnet.schemas.auth import AuthSubject
from moltnet.schemas.enums import ShareRole, ShareStatus
from moltnet.schemas.shares import ShareRead
from moltnet.services.authz import Authz
from moltnet.workflows.enqueue import Enqueuer, WorkflowName

AGENT_NOT_FOUND = "agent not found"
INVITATION_NOT_FOUND = "invitation not found"
SHARE_NOT_FOUND = "share not found"


def _event_key(moment: datetime | None) -> str:
    # microseconds since the epoch: unique per event of one share, stable across retries
    return "0" if moment is None else str(int(moment.timestamp() * 1_000_000))


def grant_share_workflow_id(share: DiaryShare) -> str:
    return f"keto:grant-share:{share.id}:{_event_key(share.responded_at)}"


def revoke_share_workflow_id(share: DiaryShare) -> str:
    return f"keto:revoke-share:{share.id}:{_event_key(share.responded_at)}"


async def _details(authz: Authz, share_id: UUID) -> ShareDetails:
    details = await ShareRepository(authz.session).details(share_id)
    if details is None:  # the row was just written in this transaction
        raise RuntimeError(f"share {share_id} vanished inside its own transaction")
    return details


async def list_for_diary(
    authz: Authz, *, subject: AuthSubject, diary_id: UUID
) -> list[ShareDetails]:
    await authz.manageable_diary(subject, diary_id)
    return await ShareRepository(authz.session).list_for_diary(diary_id)


async def invite(
    authz: Authz,
    *,
    subject: AuthSubject,
    diary_id: UUID,
    fingerprint: str,
    role: ShareRole,
) -> ShareDetails:
    if fingerprint.upper() == subject.fingerprint.upper():
        raise ValidationFailed(
            "a diary cannot be shared with its owner",
            field="body.fingerprint",
            message="this is the owner's own fingerprint",
        )
    diary = await authz.manageable_diary(subject, diary_id)
    agent = await AgentRepository(authz.session).get_by_fingerprint(fingerprint)
    if agent is None:
        raise NotFound(AGENT_NOT_FOUND)
    if agent.identity_id == diary.owner_id:  # same agent under another spelling
        raise ValidationFailed(
            "a diary cannot be shared with its owner",
            field="body.fingerprint",
            message="this is the owner's own fingerprint",
        )
    share_id = await ShareRepository(authz.session).invite(diary.id, agent.identity_id, role)
    if share_id is None:
        raise Conflict("the agent already has a pending or accepted share of this diary")
    return await _details(authz, share_id)


async def list_invitations(authz: Authz, *, subject: AuthSubject) -> list[ShareDetails]:
    return await ShareRepository(authz.session).list_pending_for(subject.identity_id)


async def accept(
    authz: Authz, enqueuer: Enqueuer, *, subject: AuthSubject, share_id: UUID
) -> ShareDetails:
    share = await _respond(authz, subject=subject, share_id=share_id, status=ShareStatus.accepted)
    await enqueuer.enqueue(
        authz.session,
        WorkflowName.keto_grant_share,
        str(share.diary_id),
        str(share.shared_with),
        share.role.value,
        workflow_id=grant_share_workflow_id(share),
    )
    return await _details(authz, share.id)


async def decline(authz: Authz, *, subject: AuthSubject, share_id: UUID) -> ShareDetails:
    share = await _respond(authz, subject=subject, share_id=share_id, status=ShareStatus.declined)
    return await _details(authz, share.id)  # a declined invitation grants nothing: no tuples


async def _respond(
    authz: Authz, *, subject: AuthSubject, share_id: UUID, status: ShareStatus
) -> DiaryShare:
    repository = ShareRepository(authz.session)
    share = await repository.respond(share_id, subject.identity_id, status)
    if share is not None:
        return share
    existing = await repository.get(share_id)
    if existing is None or existing.shared_with != subject.identity_id:
        raise NotFound(INVITATION_NOT_FOUND)
    raise Conflict(f"the invitation is {existing.status.value}, not pending")


async def revoke(
    authz: Authz, enqueuer: Enqueuer, *, subject: AuthSubject, diary_id: UUID, fingerprint: str
) -> None:
    diary = await authz.manageable_diary(subject, diary_id)
    agent = await AgentRepository(authz.session).get_by_fingerprint(fingerprint)
    if agent is None:
        raise NotFound(SHARE_NOT_FOUND)
    share = await ShareRepository(authz.session).revoke(diary.id, agent.identity_id)
    if share is None:
        raise NotFound(SHARE_NOT_FOUND)
    # Enqueued for pending shares too: an accept whose grant is still queued may race it.
    await enqueuer.enqueue(
        authz.session,
        WorkflowName.keto_revoke_share,
        str(share.diary_id),
        str(share.shared_with),
        workflow_id=revoke_share_workflow_id(share),
    )


def present(details: ShareDetails) -> ShareRead:
    share = details.share
    return ShareRead(
        id=share.id,
        diary_id=share.diary_id,
        diary_name=details.diary_name,
        owner_fingerprint=details.owner_fingerprint,
        shared_with=share.shared_with,
        shared_with_fingerprint=details.shared_with_fingerprint,
        role=share.role,
        status=share.status,
        invited_at=share.invited_at,
        responded_at=share.responded_at,
    )
