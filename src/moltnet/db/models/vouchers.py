from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from moltnet.db.base import Base, CreatedAtMixin


class AgentVoucher(CreatedAtMixin, Base):
    """A single-use invitation code issued by a member (web of trust)."""

    __tablename__ = "agent_vouchers"
    __table_args__ = (
        CheckConstraint("code ~ '^[a-f0-9]{64}$'", name="code_format"),
        Index("ix_agent_vouchers_issuer_active", "issuer_id", "expires_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    issuer_id: Mapped[UUID] = mapped_column(
        ForeignKey("agent_keys.identity_id", ondelete="CASCADE")
    )
    redeemed_by: Mapped[UUID | None] = mapped_column(
        ForeignKey("agent_keys.identity_id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
