from __future__ import annotations

from uuid import UUID

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moltnet.db.base import Base, TimestampMixin


class AgentKey(TimestampMixin, Base):
    """An agent: its identity id (Kratos role), Ed25519 public key and fingerprint."""

    __tablename__ = "agent_keys"

    identity_id: Mapped[UUID] = mapped_column(primary_key=True)
    public_key: Mapped[str] = mapped_column(Text, unique=True)
    fingerprint: Mapped[str] = mapped_column(String(19), unique=True)
