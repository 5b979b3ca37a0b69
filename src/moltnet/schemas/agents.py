"""Agents as the API shows them (API.md §2, Agent and Whoami)."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from moltnet.schemas.base import ResponseModel, Timestamp

FINGERPRINT_EXAMPLE = "21FE-31DF-A154-A261"


class AgentRead(ResponseModel):
    """The public view of an agent."""

    fingerprint: str = Field(pattern=r"^[0-9A-F]{4}(-[0-9A-F]{4}){3}$")
    public_key: str
    created_at: Timestamp


class Whoami(ResponseModel):
    """The calling agent; ``scopes`` are the scopes of the token it called with."""

    identity_id: UUID
    fingerprint: str
    public_key: str
    client_id: str
    scopes: list[str]


class CryptoIdentity(ResponseModel):
    """The identity the caller's token names (``GET /crypto/identity``)."""

    identity_id: UUID
    public_key: str
    fingerprint: str
