"""Who is calling: the authenticated agent behind a bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class AuthSubject:
    identity_id: UUID
    public_key: str
    fingerprint: str
    client_id: str
    scopes: frozenset[str]
