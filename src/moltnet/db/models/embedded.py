"""Tables of the embedded backends (identity, OAuth2 and permission roles).

They live in their own schema so an operator who switches to Ory can drop it whole.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, Identity, Index, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from moltnet.db.base import EMBEDDED_SCHEMA, Base, CreatedAtMixin, TimestampMixin


class EmbeddedIdentity(CreatedAtMixin, Base):
    __tablename__ = "identities"
    __table_args__ = ({"schema": EMBEDDED_SCHEMA},)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    traits: Mapped[dict[str, Any]] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(Text, server_default=text("'active'"))


class OAuth2Client(TimestampMixin, Base):
    __tablename__ = "oauth2_clients"
    __table_args__ = ({"schema": EMBEDDED_SCHEMA},)

    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    grant_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    client_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    identity_id: Mapped[UUID | None] = mapped_column(index=True)


class RelationTupleRow(CreatedAtMixin, Base):
    """One Keto-style relation tuple ``namespace:object#relation@subject``."""

    __tablename__ = "relation_tuples"
    __table_args__ = (
        UniqueConstraint(
            "namespace",
            "object",
            "relation",
            "subject_namespace",
            "subject_object",
            "subject_relation",
            name="uq_relation_tuples_tuple",
        ),
        Index(
            "ix_relation_tuples_subject",
            "subject_namespace",
            "subject_object",
            "namespace",
            "relation",
        ),
        {"schema": EMBEDDED_SCHEMA},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    namespace: Mapped[str] = mapped_column(Text)
    object: Mapped[str] = mapped_column(Text)
    relation: Mapped[str] = mapped_column(Text)
    subject_namespace: Mapped[str] = mapped_column(Text)
    subject_object: Mapped[str] = mapped_column(Text)
    subject_relation: Mapped[str] = mapped_column(Text, server_default=text("''"))
