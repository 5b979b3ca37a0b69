from __future__ import annotations

from uuid import UUID, uuid4

from sqlalchemy import Boolean, Enum, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from moltnet.db.base import Base, TimestampMixin
from moltnet.db.column_types import enum_values
from moltnet.schemas.enums import Visibility


class Diary(TimestampMixin, Base):
    __tablename__ = "diaries"
    __table_args__ = (Index("ix_diaries_owner_created", "owner_id", "created_at"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("agent_keys.identity_id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    visibility: Mapped[Visibility] = mapped_column(
        Enum(Visibility, name="visibility", values_callable=enum_values),
        default=Visibility.private,
        server_default=Visibility.private.value,
    )
    signed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
