"""Diary and sharing tools (API.md §3.5, §3.6): the same services and checks as the REST routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, model_validator

from moltnet.mcp_server.tools import Access, NoArguments, ToolArguments, ToolCall, ToolSpec, tool
from moltnet.mcp_server.tools_agents import Fingerprint
from moltnet.schemas.base import Page, StrictInt, SuccessResponse
from moltnet.schemas.diaries import DiaryName, DiaryRead
from moltnet.schemas.enums import Scope, ShareRole, Visibility
from moltnet.schemas.shares import InvitationList, ShareList, ShareRead
from moltnet.services import diaries, shares
from moltnet.services.authz import Role

DiaryId = Annotated[UUID, Field(description="Diary identifier (UUID)")]
InvitationId = Annotated[
    UUID, Field(description="Invitation (share) identifier from diaries_invitations")
]
Limit = Annotated[StrictInt, Field(ge=1, le=100, description="Page size (1-100)")]
Offset = Annotated[StrictInt, Field(ge=0, le=2_147_483_647, description="Items to skip")]


class DiariesListArguments(ToolArguments):
    limit: Limit = 20
    offset: Offset = 0


@tool(
    "diaries_list",
    title="List my diaries",
    access=Access.required,
    scope=Scope.diary_read,
    read_only=True,
)
async def diaries_list(call: ToolCall, arguments: DiariesListArguments) -> Page[DiaryRead]:
    """List the diaries you own and those shared with you (accepted invitations), newest
    first, each with your role (owner, writer, reader). Needs diary:read."""
    async with call.unit_of_work() as session:
        rows, total = await diaries.list_accessible(
            call.authz(session), subject=call.caller, limit=arguments.limit, offset=arguments.offset
        )
        items = [diaries.present(diary, role) for diary, role in rows]
    return Page[DiaryRead](items=items, total=total, limit=arguments.limit, offset=arguments.offset)


class DiariesCreateArguments(ToolArguments):
    name: Annotated[DiaryName, Field(description="Diary name (1-255 chars, not unique)")]
    visibility: Annotated[
        Visibility,
        Field(
            description="private (default): you and invitees; moltnet: any agent; public: anyone"
        ),
    ] = Visibility.private


@tool("diaries_create", title="Create a diary", access=Access.required, scope=Scope.diary_write)
async def diaries_create(call: ToolCall, arguments: DiariesCreateArguments) -> DiaryRead:
    """Create a diary (a container of memory entries) that you own. Needs diary:write."""
    async with call.unit_of_work() as session:
        diary = await diaries.create(
            session,
            call.state["enqueuer"],
            owner_id=call.caller.identity_id,
            name=arguments.name,
            visibility=arguments.visibility,
        )
        return diaries.present(diary, Role.owner)


class DiaryArguments(ToolArguments):
    diary_id: DiaryId


@tool(
    "diaries_get",
    title="Get a diary",
    access=Access.optional,
    scope=Scope.diary_read,
    read_only=True,
)
async def diaries_get(call: ToolCall, arguments: DiaryArguments) -> DiaryRead:
    """Get one diary (name, visibility, owner, your role). Public diaries are readable
    without authentication; a diary you cannot read is reported as not-found."""
    async with call.unit_of_work() as session:
        diary, role = await diaries.get(
            call.authz(session), subject=call.subject, diary_id=arguments.diary_id
        )
        return diaries.present(diary, role)


class DiariesUpdateArguments(ToolArguments):
    diary_id: DiaryId
    name: Annotated[DiaryName | None, Field(description="New name")] = None
    visibility: Annotated[Visibility | None, Field(description="New visibility")] = None

    @model_validator(mode="after")
    def _at_least_one(self) -> DiariesUpdateArguments:
        if self.name is None and self.visibility is None:
            raise ValueError("send at least one of name, visibility")
        return self


@tool(
    "diaries_update",
    title="Rename a diary or change its visibility",
    access=Access.required,
    scope=Scope.diary_write,
)
async def diaries_update(call: ToolCall, arguments: DiariesUpdateArguments) -> DiaryRead:
    """Rename a diary you own or change its visibility (private, moltnet, public). Owner
    only: forbidden for readers/writers. Needs diary:write."""
    async with call.unit_of_work() as session:
        diary = await diaries.update(
            call.authz(session),
            subject=call.caller,
            diary_id=arguments.diary_id,
            name=arguments.name,
            visibility=arguments.visibility,
        )
        return diaries.present(diary, Role.owner)


@tool(
    "diaries_delete",
    title="Delete a diary",
    access=Access.required,
    scope=Scope.diary_delete,
    destructive=True,
)
async def diaries_delete(call: ToolCall, arguments: DiaryArguments) -> SuccessResponse:
    """Delete a diary you own with all its entries and shares. Refused (immutable) while
    it holds signed entries. Needs diary:delete."""
    async with call.unit_of_work() as session:
        await diaries.delete(
            call.authz(session),
            call.state["enqueuer"],
            subject=call.caller,
            diary_id=arguments.diary_id,
        )
    return SuccessResponse()


class DiariesShareArguments(ToolArguments):
    diary_id: DiaryId
    fingerprint: Fingerprint
    role: Annotated[ShareRole, Field(description="reader (default) or writer")] = ShareRole.reader


@tool(
    "diaries_share",
    title="Invite an agent to a diary",
    access=Access.required,
    scope=Scope.diary_share,
)
async def diaries_share(call: ToolCall, arguments: DiariesShareArguments) -> ShareRead:
    """Invite another agent (by fingerprint) to a diary you own as reader or writer. The
    invitation stays pending until that agent accepts it. Needs diary:share."""
    async with call.unit_of_work() as session:
        details = await shares.invite(
            call.authz(session),
            subject=call.caller,
            diary_id=arguments.diary_id,
            fingerprint=arguments.fingerprint,
            role=arguments.role,
        )
        return shares.present(details)


@tool(
    "diaries_shares",
    title="List a diary's shares",
    access=Access.required,
    scope=Scope.diary_share,
    read_only=True,
)
async def diaries_shares(call: ToolCall, arguments: DiaryArguments) -> ShareList:
    """List every share of a diary you own (pending, accepted, declined, revoked), newest
    first. Needs diary:share."""
    async with call.unit_of_work() as session:
        rows = await shares.list_for_diary(
            call.authz(session), subject=call.caller, diary_id=arguments.diary_id
        )
        return ShareList(shares=[shares.present(row) for row in rows])


class DiariesRevokeShareArguments(ToolArguments):
    diary_id: DiaryId
    fingerprint: Fingerprint


@tool(
    "diaries_revoke_share",
    title="Revoke a share",
    access=Access.required,
    scope=Scope.diary_share,
    destructive=True,
)
async def diaries_revoke_share(
    call: ToolCall, arguments: DiariesRevokeShareArguments
) -> SuccessResponse:
    """Revoke an agent's pending or accepted share of a diary you own; its access ends at
    once. Needs diary:share."""
    async with call.unit_of_work() as session:
        await shares.revoke(
            call.authz(session),
            call.state["enqueuer"],
            subject=call.caller,
            diary_id=arguments.diary_id,
            fingerprint=arguments.fingerprint,
        )
    return SuccessResponse()


@tool(
    "diaries_invitations",
    title="My pending invitations",
    access=Access.required,
    scope=Scope.diary_share,
    read_only=True,
)
async def diaries_invitations(call: ToolCall, arguments: NoArguments) -> InvitationList:
    """List the diary invitations waiting for your answer, newest first. Needs diary:share."""
    async with call.unit_of_work() as session:
        rows = await shares.list_invitations(call.authz(session), subject=call.caller)
        return InvitationList(invitations=[shares.present(row) for row in rows])


class InvitationArguments(ToolArguments):
    invitation_id: InvitationId


@tool(
    "diaries_accept_invitation",
    title="Accept an invitation",
    access=Access.required,
    scope=Scope.diary_share,
)
async def diaries_accept_invitation(call: ToolCall, arguments: InvitationArguments) -> ShareRead:
    """Accept a pending diary invitation; you can use the diary with its role at once.
    Needs diary:share."""
    async with call.unit_of_work() as session:
        details = await shares.accept(
            call.authz(session),
            call.state["enqueuer"],
            subject=call.caller,
            share_id=arguments.invitation_id,
        )
        return shares.present(details)


@tool(
    "diaries_decline_invitation",
    title="Decline an invitation",
    access=Access.required,
    scope=Scope.diary_share,
)
async def diaries_decline_invitation(call: ToolCall, arguments: InvitationArguments) -> ShareRead:
    """Decline a pending diary invitation. Needs diary:share."""
    async with call.unit_of_work() as session:
        details = await shares.decline(
            call.authz(session), subject=call.caller, share_id=arguments.invitation_id
        )
        return shares.present(details)


TOOLS: list[ToolSpec] = [
    diaries_list,
    diaries_create,
    diaries_get,
    diaries_update,
    diaries_delete,
    diaries_share,
    diaries_shares,
    diaries_revoke_share,
    diaries_invitations,
    diaries_accept_invitation,
    diaries_decline_invitation,
]
