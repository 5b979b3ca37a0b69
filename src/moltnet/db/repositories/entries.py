"""Diary entries: reads with their author, filtered lists, access counters, vectors, the public feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from sqlalchemy import ColumnElement, Select, delete, func, not_, or_, select, tuple_, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value

from moltnet.db.models import AgentKey, Diary, DiaryEntry
from moltnet.db.repositories.base import RepositoryBase
from moltnet.errors import Immutable
from moltnet.schemas.enums import EntryType, Visibility

IMMUTABLE_HINT = "moltnet:immutable"


def is_immutable_refusal(error: DBAPIError) -> bool:
    """Whether the signed-entry trigger refused the statement (it raises with this HINT)."""
    cause: BaseException | None = error.orig
    while cause is not None:
        if getattr(cause, "hint", None) == IMMUTABLE_HINT:
            return True
        cause = cause.__cause__
    return False


class AuthoredEntry(NamedTuple):
    entry: DiaryEntry
    author: AgentKey


@dataclass(frozen=True)
class EntryFilters:
    """Filters shared by the entry list and every search leg."""

    tags: Sequence[str] = ()  # entry carries all of them
    exclude_tags: Sequence[str] = ()  # entry carries none of them
    entry_types: Sequence[EntryType] = ()  # entry has one of them
    exclude_superseded: bool = False
    exclude_suspicious: bool = False  # public routes hide flagged entries by default

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.tags:
            clauses.append(DiaryEntry.tags.contains(list(self.tags)))
        if self.exclude_tags:
            clauses.append(not_(DiaryEntry.tags.overlap(list(self.exclude_tags))))
        if self.entry_types:
            clauses.append(DiaryEntry.entry_type.in_(list(self.entry_types)))
        if self.exclude_superseded:
            clauses.append(DiaryEntry.superseded_by.is_(None))
        if self.exclude_suspicious:
            clauses.append(DiaryEntry.injection_risk.is_(False))
        return clauses


@dataclass(frozen=True)
class FeedCursor:
    created_at: datetime
    entry_id: UUID


@dataclass
class EntryPage:
    items: list[AuthoredEntry] = field(default_factory=list)
    total: int = 0


def public_diary_ids() -> Select[UUID]:
    """Ids of the diaries whose entries anyone may read."""
    return select(Diary.id).where(Diary.visibility == Visibility.public)


def _authored() -> Select[DiaryEntry, AgentKey]:
    # The vector is never returned, so it is never loaded either.
    return (
        select(DiaryEntry, AgentKey)
        .join(AgentKey, AgentKey.identity_id == DiaryEntry.author_id)
        .options(defer(DiaryEntry.embedding))
    )


class EntryRepository(RepositoryBase[DiaryEntry]):
    model = DiaryEntry

    async def get_authored(self, entry_id: UUID) -> AuthoredEntry | None:
        row = (await self.session.execute(_authored().where(DiaryEntry.id == entry_id))).first()
        return None if row is None else AuthoredEntry(row[0], row[1])

    async def author_of(self, entry: DiaryEntry) -> AgentKey:
        author = await self.session.get(AgentKey, entry.author_id)
        if author is None:  # the foreign key cascades, so an entry always has its author
            raise LookupError(f"entry {entry.id} has no author row")
        return author

    async def list_in_diary(
        self, diary_id: UUID, *, filters: EntryFilters, limit: int, offset: int
    ) -> EntryPage:
        """Newest first (then id), with the exact number of matching rows."""
        where = [DiaryEntry.diary_id == diary_id, *filters.clauses()]
        total = await self.session.scalar(
            select(func.count()).select_from(DiaryEntry).where(*where)
        )
        statement = (
            _authored()
            .where(*where)
            .order_by(DiaryEntry.created_at.desc(), DiaryEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = (await self.session.execute(statement)).all()
        return EntryPage([AuthoredEntry(row[0], row[1]) for row in rows], total or 0)

    async def get_without_vector(self, entry_id: UUID) -> DiaryEntry | None:
        statement = (
            select(DiaryEntry).where(DiaryEntry.id == entry_id).options(defer(DiaryEntry.embedding))
        )
        return (await self.session.scalars(statement)).first()

    async def load_server_values(self, entry: DiaryEntry) -> None:
        """Read back what the database set (timestamps), so no lazy load happens later."""
        await self.session.refresh(entry, attribute_names=["created_at", "updated_at"])

    async def uses_signing_request(self, request_id: UUID) -> bool:
        statement = select(DiaryEntry.id).where(DiaryEntry.signing_request_id == request_id)
        return (await self.session.scalar(statement)) is not None

    async def count_access_of(self, entry: DiaryEntry) -> None:
        """Count one read of ``entry`` and show the new counters on the loaded object
        without marking it dirty (a flush would otherwise touch ``updated_at``)."""
        statement = (
            update(DiaryEntry)
            .where(DiaryEntry.id == entry.id)
            .values(
                access_count=DiaryEntry.access_count + 1,
                last_accessed_at=func.now(),
                updated_at=DiaryEntry.updated_at,
            )
            .returning(DiaryEntry.access_count, DiaryEntry.last_accessed_at)
            .execution_options(synchronize_session=False)
        )
        count, accessed_at = (await self.session.execute(statement)).one()
        set_committed_value(entry, "access_count", count)
        set_committed_value(entry, "last_accessed_at", accessed_at)

    async def count_access(self, entry_ids: Sequence[UUID]) -> None:
        """Bump ``accessCount``/``lastAccessedAt``; ``updated_at`` is set to itself so the
        model's ``onupdate`` does not mark a read as an edit. Objects already loaded in
        this session keep the values they had (search shows counters before the search)."""
        if not entry_ids:
            return
        statement = (
            update(DiaryEntry)
            .where(DiaryEntry.id.in_(list(entry_ids)))
            .values(
                access_count=DiaryEntry.access_count + 1,
                last_accessed_at=func.now(),
                updated_at=DiaryEntry.updated_at,
            )
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(statement)

    async def in_same_diary(self, entry_id: UUID, diary_id: UUID) -> bool:
        statement = select(DiaryEntry.id).where(
            DiaryEntry.id == entry_id, DiaryEntry.diary_id == diary_id
        )
        return (await self.session.scalar(statement)) is not None

    async def clear_superseded_references(self, entry_id: UUID) -> None:
        """Entries that pointed at ``entry_id`` as their replacement point nowhere now."""
        statement = (
            update(DiaryEntry)
            .where(DiaryEntry.superseded_by == entry_id)
            .values(superseded_by=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(statement)

    async def save(self, entry: DiaryEntry) -> None:
        """Flush the entry's changes; the database's refusal of a signed change is a 409."""
        try:
            await self.session.flush()
        except DBAPIError as error:
            if is_immutable_refusal(error):
                raise Immutable("signed entries cannot change their content") from error
            raise
        await self.load_server_values(entry)

    async def delete(self, entry_id: UUID) -> None:
        """Delete one entry; the database refuses signed ones (a 409 here too)."""
        statement = delete(DiaryEntry).where(DiaryEntry.id == entry_id)
        try:
            await self.session.execute(statement.execution_options(synchronize_session=False))
        except DBAPIError as error:
            if is_immutable_refusal(error):
                raise Immutable("signed entries cannot be deleted") from error
            raise

    async def set_embedding(
        self, entry_id: UUID, *, vector: list[float], model_id: str, content_hash: str
    ) -> bool:
        """Store a vector if the entry still has the content it was computed from.

        ``content_hash`` guards against a PATCH that landed while the vector was being
        computed: such a vector would describe the old text. Returns whether it was stored.
        """
        statement = (
            update(DiaryEntry)
            .where(DiaryEntry.id == entry_id, DiaryEntry.content_hash == content_hash)
            .values(embedding=vector, embedding_model=model_id, updated_at=DiaryEntry.updated_at)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def stale_embeddings(
        self, model_id: str, *, after: UUID | None, limit: int
    ) -> Sequence[DiaryEntry]:
        """Entries without a vector of ``model_id``, in id order, after ``after``."""
        statement = select(DiaryEntry).options(defer(DiaryEntry.embedding))
        statement = statement.where(
            or_(DiaryEntry.embedding_model.is_(None), DiaryEntry.embedding_model != model_id)
        )
        if after is not None:
            statement = statement.where(DiaryEntry.id > after)
        statement = statement.order_by(DiaryEntry.id).limit(limit)
        return (await self.session.scalars(statement)).all()

    async def count_stale_embeddings(self, model_id: str) -> int:
        statement = select(func.count()).where(
            or_(DiaryEntry.embedding_model.is_(None), DiaryEntry.embedding_model != model_id)
        )
        return (await self.session.scalar(statement)) or 0

    async def public_entry(self, entry_id: UUID) -> AuthoredEntry | None:
        statement = _authored().where(
            DiaryEntry.id == entry_id, DiaryEntry.diary_id.in_(public_diary_ids())
        )
        row = (await self.session.execute(statement)).first()
        return None if row is None else AuthoredEntry(row[0], row[1])

    async def public_feed(
        self, *, filters: EntryFilters, after: FeedCursor | None, limit: int
    ) -> list[AuthoredEntry]:
        """Entries of public diaries, ``createdAt`` desc then ``id`` desc, strictly after the cursor."""
        statement = _authored().where(
            DiaryEntry.diary_id.in_(public_diary_ids()), *filters.clauses()
        )
        if after is not None:
            statement = statement.where(
                tuple_(DiaryEntry.created_at, DiaryEntry.id)
                < tuple_(after.created_at, after.entry_id)
            )
        statement = statement.order_by(DiaryEntry.created_at.desc(), DiaryEntry.id.desc())
        rows = (await self.session.execute(statement.limit(limit))).all()
        return [AuthoredEntry(row[0], row[1]) for row in rows]

    async def latest_public(self, *, limit: int) -> list[AuthoredEntry]:
        return await self.public_feed(
            filters=EntryFilters(exclude_suspicious=True), after=None, limit=limit
        )
