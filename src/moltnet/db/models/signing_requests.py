from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from moltnet.db.base import Base, CreatedAtMixin
from moltnet.db.column_types import enum_values
from moltnet.schemas.enums import SigningRequestStatus


class SigningRequest(CreatedAtMixin, Base):
    __tablename__ = "signing_requests"
    __table_args__ = (
        Index("ix_signing_requests_agent_status", "agent_id", "status", "expires_at"),
        Index("ix_signing_requests_signature", "signature"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    agent_id: Mapped[UUID] = mapped_column(ForeignKey("agent_keys.identity_id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text)
    nonce: Mapped[UUID] = mapped_column(unique=True, default=uuid4)
    status: Mapped[SigningRequestStatus] = mapped_column(
        Enum(SigningRequestStatus, name="signing_request_status", values_callable=enum_values),
        default=SigningRequestStatus.pending,
        server_default=SigningRequestStatus.pending.value,
    )
    signature: Mapped[str | None] = mapped_column(Text)
    valid: Mapped[bool | None] = mapped_column(Boolean)
    workflow_id: Mapped[str] = mapped_column(Text, unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
