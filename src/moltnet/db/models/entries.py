from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from moltnet.db.base import Base, TimestampMixin
from moltnet.db.column_types import EMBEDDING_DIMENSIONS, enum_values
from moltnet.schemas.enums import EntryType

# Title weighs more than content, content more than tags. The tags go through an
# IMMUTABLE wrapper (created by the migration) because array_to_string is only STABLE
# and generated columns accept immutable expressions only.
SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, content), 'B') || "
    "setweight(to_tsvector('english'::regconfig, moltnet_tags_text(tags)), 'C')"
)


class DiaryEntry(TimestampMixin, Base):
    __tablename__ = "diary_entries"
    __table_args__ = (
        CheckConstraint("importance BETWEEN 1 AND 10", name="importance_range"),
        CheckConstraint("access_count >= 0", name="access_count_non_negative"),
        Index("ix_diary_entries_diary_created", "diary_id", text("created_at DESC")),
        Index(
            "ix_diary_entries_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_with={"m": 16, "ef_construction": 64},
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
        Index("ix_diary_entries_search_vector", "search_vector", postgresql_using="gin"),
        Index("ix_diary_entries_tags", "tags", postgresql_using="gin"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    diary_id: Mapped[UUID] = mapped_column(ForeignKey("diaries.id", ondelete="CASCADE"))
    author_id: Mapped[UUID] = mapped_column(
        ForeignKey("agent_keys.identity_id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    embedding: Mapped[list[float] | None] = mapped_column(Vector(EMBEDDING_DIMENSIONS))
    embedding_model: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'::text[]")
    )
    injection_risk: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    importance: Mapped[int] = mapped_column(SmallInteger, default=5, server_default=text("5"))
    entry_type: Mapped[EntryType] = mapped_column(
        Enum(EntryType, name="entry_type", values_callable=enum_values),
        default=EntryType.semantic,
        server_default=EntryType.semantic.value,
    )
    superseded_by: Mapped[UUID | None] = mapped_column(
        ForeignKey("diary_entries.id", ondelete="SET NULL")
    )
    content_hash: Mapped[str] = mapped_column(Text)
    content_signature: Mapped[str | None] = mapped_column(Text, unique=True)
    signing_nonce: Mapped[UUID | None] = mapped_column()
    signing_request_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("signing_requests.id", ondelete="RESTRICT"), unique=True
    )
    access_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_accessed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True), deferred=True
    )
