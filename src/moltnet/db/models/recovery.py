from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from moltnet.db.base import Base, CreatedAtMixin


class UsedRecoveryNonce(Base):
    """Nonces of recovery challenges already verified (replay protection)."""

    __tablename__ = "used_recovery_nonces"

    nonce: Mapped[str] = mapped_column(Text, primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RecoveryCode(CreatedAtMixin, Base):
    """SHA-256 of each recovery code handed out; the code itself is never stored."""

    __tablename__ = "recovery_codes"

    code_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    identity_id: Mapped[UUID] = mapped_column(
        ForeignKey("agent_keys.identity_id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
