"""Authorization: the only module that talks to the permission backend (STYLE.md rule 4).

Order of decision (API.md §1.4, ARCHITECTURE.md §3):

1. Visibility: ``public`` and ``moltnet`` diaries are readable without asking anyone
   (``moltnet`` needs a token).
2. Authoritative database facts: ``diaries.owner_id`` and the caller's ``diary_shares``
   row. An owner or an accepted share decides at once, so a grant whose ``keto.*``
   workflow is still queued never hides a fresh diary or share (read-your-writes). A
   share row in any other state (pending, declined, revoked) denies at once, without
   asking the backend, so a revocation is effective before its tuple is deleted, and a
   writer re-invited as reader cannot write through a stale ``#writers`` tuple.
3. Only when the database has no fact about the caller is the backend asked
   (``Diary#read`` / ``#write``, ``DiaryEntry#view`` / ``#edit`` / ``#delete``): that is
   where tuples written by other means (an operator, another service on the same Keto)
   count. ``bench/permissions.py`` measures both paths and the grant lag.

Denied reads raise exactly the ``NotFound`` of a missing row; readable but not
permitted raises ``Forbidden``. The tuple methods at the end are what the ``keto.*``
workflow steps use; each converges to the state the rows imply (see ``_converge``).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

import structlog
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.backends.protocols import PermissionBackend, RelationTuple, SubjectSet
from moltnet.db.models import Diary, DiaryEntry
from moltnet.db.repositories.diaries import DiaryRepository
from moltnet.db.repositories.shares import ShareRepository
from moltnet.errors import Forbidden, NotFound, Unauthorized
from moltnet.schemas.auth import AuthSubject
from moltnet.schemas.enums import ShareRole, ShareStatus, Visibility

logger = structlog.get_logger(__name__)

DIARY_NOT_FOUND = "diary not found"
ENTRY_NOT_FOUND = "entry not found"

# A convergence loop that keeps seeing the rows change gives up and lets DBOS retry the step.
_MAX_CONVERGE_ROUNDS = 10


class Role(enum.StrEnum):
    owner = "owner"
    writer = "writer"
    reader = "reader"


class _Fact(enum.Enum):
    """What the database says about a caller and a diary."""

    owner = "owner"
    writer = "writer"
    reader = "reader"
    denied = "denied"  # a share row that grants nothing (pending, declined, revoked)
    unknown = "unknown"  # no row: the backend decides


def agent_subject(agent_id: UUID | str) -> SubjectSet:
    return SubjectSet("Agent", str(agent_id))


def owner_tuple(diary_id: UUID | str, owner_id: UUID | str) -> RelationTuple:
    return RelationTuple("Diary", str(diary_id), "owner", agent_subject(owner_id))


def share_tuple(diary_id: UUID | str, agent_id: UUID | str, role: ShareRole) -> RelationTuple:
    relation = "writers" if role is ShareRole.writer else "readers"
    return RelationTuple("Diary", str(diary_id), relation, agent_subject(agent_id))


def parent_tuple(entry_id: UUID | str, diary_id: UUID | str) -> RelationTuple:
    return RelationTuple("DiaryEntry", str(entry_id), "parent", SubjectSet("Diary", str(diary_id)))


def self_tuple(agent_id: UUID | str) -> RelationTuple:
    return RelationTuple("Agent", str(agent_id), "self", agent_subject(agent_id))


@dataclass(frozen=True)
class Authz:
    session: AsyncSession
    permissions: PermissionBackend

    # --- diaries -------------------------------------------------------------------

    async def readable_diary(self, subject: AuthSubject | None, diary_id: UUID) -> Diary:
        """The diary if the caller may read it; 404 exactly like a missing row otherwise."""
        diary = await DiaryRepository(self.session).get(diary_id)
        if diary is None:
            raise NotFound(DIARY_NOT_FOUND)
        if not await self._can_read(subject, diary):
            raise NotFound(DIARY_NOT_FOUND)
        return diary

    async def writable_diary(self, subject: AuthSubject, diary_id: UUID) -> Diary:
        """Entry writes: 404 when unreadable, 403 when readable without ``Diary#write``."""
        diary = await self.readable_diary(subject, diary_id)
        if not await self._can_write(subject, diary, "Diary", str(diary.id), "write"):
            raise Forbidden("the caller may not write to this diary")
        return diary

    async def manageable_diary(self, subject: AuthSubject, diary_id: UUID) -> Diary:
        """Owner only (decided from the row, API.md §6): 403 if readable, else 404."""
        diary = await self.readable_diary(subject, diary_id)
        if diary.owner_id != subject.identity_id:
            raise Forbidden("only the diary owner may do this")
        return diary

    async def role_of(self, subject: AuthSubject | None, diary: Diary) -> Role | None:
        """The caller's relation to the diary from the rows; ``None`` for visibility-only."""
        fact = await self._fact(subject, diary)
        if fact in (_Fact.owner, _Fact.writer, _Fact.reader):
            return Role(fact.value)
        return None

    def accessible_diary_ids(self, subject: AuthSubject, *, include_shared: bool) -> Select[UUID]:
        """A composable ``select`` of the ids of diaries the caller has a relation to."""
        return DiaryRepository.accessible_ids(subject.identity_id, include_shared=include_shared)

    # --- entries -------------------------------------------------------------------

    async def readable_entry(self, subject: AuthSubject | None, entry_id: UUID) -> DiaryEntry:
        found = await DiaryRepository(self.session).entry_with_diary(entry_id)
        if found is None:
            raise NotFound(ENTRY_NOT_FOUND)
        entry, diary = found
        if not await self._can_read(subject, diary, entry_id=entry.id):
            raise NotFound(ENTRY_NOT_FOUND)
        return entry

    async def editable_entry(self, subject: AuthSubject, entry_id: UUID) -> DiaryEntry:
        """``DiaryEntry#edit``: 404 when unreadable, 403 when readable without the right."""
        return await self._writable_entry(subject, entry_id, "edit")

    async def deletable_entry(self, subject: AuthSubject, entry_id: UUID) -> DiaryEntry:
        """``DiaryEntry#delete``: 404 when unreadable, 403 when readable without the right."""
        return await self._writable_entry(subject, entry_id, "delete")

    async def _writable_entry(
        self, subject: AuthSubject, entry_id: UUID, permission: str
    ) -> DiaryEntry:
        entry = await self.readable_entry(subject, entry_id)
        diary = await self.session.get(Diary, entry.diary_id)  # in the identity map already
        if diary is None or not await self._can_write(
            subject, diary, "DiaryEntry", str(entry.id), permission
        ):
            raise Forbidden("the caller may not change entries of this diary")
        return entry

    # --- decisions -----------------------------------------------------------------

    async def _fact(self, subject: AuthSubject | None, diary: Diary) -> _Fact:
        if subject is None:
            return _Fact.unknown
        if diary.owner_id == subject.identity_id:
            return _Fact.owner
        share = await ShareRepository(self.session).status_and_role(diary.id, subject.identity_id)
        if share is None:
            return _Fact.unknown
        status, role = share
        if status is not ShareStatus.accepted:
            return _Fact.denied
        return _Fact.writer if role is ShareRole.writer else _Fact.reader

    async def _can_read(
        self, subject: AuthSubject | None, diary: Diary, *, entry_id: UUID | None = None
    ) -> bool:
        if diary.visibility is Visibility.public:
            return True
        if diary.visibility is Visibility.moltnet:
            if subject is None:
                raise Unauthorized("an access token is required to read this diary")
            return True
        fact = await self._fact(subject, diary)
        if fact is not _Fact.unknown:
            return fact is not _Fact.denied
        if subject is None:
            return False
        if entry_id is not None:
            return await self.permissions.check(
                namespace="DiaryEntry",
                object=str(entry_id),
                permission="view",
                subject=agent_subject(subject.identity_id),
            )
        return await self.permissions.check(
            namespace="Diary",
            object=str(diary.id),
            permission="read",
            subject=agent_subject(subject.identity_id),
        )

    async def _can_write(
        self,
        subject: AuthSubject,
        diary: Diary,
        namespace: str,
        object_id: str,
        permission: str,
    ) -> bool:
        fact = await self._fact(subject, diary)
        if fact in (_Fact.owner, _Fact.writer):
            return True
        if fact is not _Fact.unknown:
            return False  # reader, or a share that grants nothing: the row decides
        return await self.permissions.check(
            namespace=namespace,
            object=object_id,
            permission=permission,
            subject=agent_subject(subject.identity_id),
        )

    # --- tuples (used by the keto.* workflow steps) ----------------------------------

    async def write_tuples(self, tuples: Sequence[RelationTuple]) -> None:
        await self.permissions.write(tuples)

    async def delete_tuples(self, tuples: Sequence[RelationTuple]) -> None:
        await self.permissions.delete(tuples)

    async def delete_object(self, namespace: str, object_id: str) -> None:
        await self.permissions.delete_object(namespace=namespace, object=object_id)

    async def list_objects(self, namespace: str, relation: str, subject: SubjectSet) -> list[str]:
        return await self.permissions.list_objects(namespace, relation, subject)

    async def check(
        self, namespace: str, object_id: str, permission: str, subject: SubjectSet
    ) -> bool:
        """A raw backend check, for workflow tests and the benchmark."""
        return await self.permissions.check(
            namespace=namespace, object=object_id, permission=permission, subject=subject
        )

    async def ping(self) -> None:
        await self.permissions.ping()


# --- convergence of tuples to rows ---------------------------------------------------------


@dataclass(frozen=True)
class TupleSync:
    """Brings a diary's, share's or entry's tuples in line with its current rows.

    Steps of different workflows for one object may run in any order (the keto queue
    runs several at once, and DBOS re-runs steps after a crash). So a step never
    applies "its" event; it reads the rows in a short transaction, applies the tuples
    they imply, and reads again, until two reads agree. The last step to apply anything
    therefore applied the latest committed state: no stale grant, no lost grant, and no
    database connection held while the backend is called.
    """

    sessionmaker: async_sessionmaker[AsyncSession]
    permissions: PermissionBackend

    async def _converge(
        self,
        read: Callable[[AsyncSession], Awaitable[object]],
        apply: Callable[[Authz, object], Awaitable[None]],
    ) -> None:
        async with self.sessionmaker.begin() as session:
            state = await read(session)
        for _ in range(_MAX_CONVERGE_ROUNDS):
            async with self.sessionmaker() as session:
                await apply(Authz(session, self.permissions), state)
            async with self.sessionmaker.begin() as session:
                again = await read(session)
            if again == state:
                return
            state = again
        raise RuntimeError("rows kept changing while their tuples were synchronised")

    async def sync_owner(self, diary_id: UUID, owner_id: UUID) -> None:
        async def read(session: AsyncSession) -> object:
            return await DiaryRepository(session).get(diary_id) is not None

        async def apply(authz: Authz, exists: object) -> None:
            if exists:
                await authz.write_tuples([owner_tuple(diary_id, owner_id)])
            else:  # deleted before this ran: never leave an orphan owner tuple
                await authz.delete_tuples([owner_tuple(diary_id, owner_id)])

        await self._converge(read, apply)

    async def sync_share(self, diary_id: UUID, agent_id: UUID) -> None:
        async def read(session: AsyncSession) -> object:
            share = await ShareRepository(session).status_and_role(diary_id, agent_id)
            if share is None or share[0] is not ShareStatus.accepted:
                return None
            return share[1]

        async def apply(authz: Authz, role: object) -> None:
            granted = [share_tuple(diary_id, agent_id, role)] if isinstance(role, ShareRole) else []
            stale = [
                share_tuple(diary_id, agent_id, other) for other in ShareRole if other is not role
            ]
            await authz.delete_tuples(stale)
            if granted:
                await authz.write_tuples(granted)

        await self._converge(read, apply)

    async def sync_entry_parent(self, entry_id: UUID, diary_id: UUID) -> None:
        async def read(session: AsyncSession) -> object:
            return await DiaryRepository(session).entry_diary_id(entry_id)

        async def apply(authz: Authz, parent: object) -> None:
            if parent is None:  # deleted before this ran
                await authz.delete_object("DiaryEntry", str(entry_id))
            else:
                await authz.write_tuples([parent_tuple(entry_id, str(parent))])

        await self._converge(read, apply)

    async def remove_diary(self, diary_id: UUID) -> None:
        """Delete ``Diary:<id>`` and the ``DiaryEntry`` tuples of its entries.

        The entry rows are gone already, so the entries are found through their
        ``parent`` tuples in the backend.
        """
        async with self.sessionmaker() as session:
            authz = Authz(session, self.permissions)
            entries = await authz.list_objects(
                "DiaryEntry", "parent", SubjectSet("Diary", str(diary_id))
            )
            for entry_id in entries:
                await authz.delete_object("DiaryEntry", entry_id)
            await authz.delete_object("Diary", str(diary_id))

    async def remove_entry(self, entry_id: UUID) -> None:
        async with self.sessionmaker() as session:
            await Authz(session, self.permissions).delete_object("DiaryEntry", str(entry_id))

    async def register_agent(self, agent_id: UUID) -> None:
        async with self.sessionmaker() as session:
            await Authz(session, self.permissions).write_tuples([self_tuple(agent_id)])
