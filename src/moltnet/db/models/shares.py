from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Enum, ForeignKey, Index, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from moltnet.db.base import Base
from moltnet.db.column_types import enum_values
from moltnet.schemas.enums import ShareRole, ShareStatus


class DiaryShare(Base):
    """An invitation to a diary; ``accepted`` grants the role."""

    __tablename__ = "diary_shares"
    __table_args__ = (
        UniqueConstraint("diary_id", "shared_with", name="uq_diary_shares_diary_id_shared_with"),
        Index("ix_diary_shares_shared_with_status", "shared_with", "status"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    diary_id: Mapped[UUID] = mapped_column(ForeignKey("diaries.id", ondelete="CASCADE"))
    shared_with: Mapped[UUID] = mapped_column(
        ForeignKey("agent_keys.identity_id", ondelete="CASCADE")
    )
    role: Mapped[ShareRole] = mapped_column(
        Enum(ShareRole, name="diary_share_role", values_callable=enum_values)
    )
    status: Mapped[ShareStatus] = mapped_column(
        Enum(ShareStatus, name="diary_share_status", values_callable=enum_values),
        default=ShareStatus.pending,
        server_default=ShareStatus.pending.value,
    )
    invited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
