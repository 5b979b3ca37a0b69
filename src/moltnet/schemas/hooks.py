"""Ory webhook payloads (API.md §3.12): Ory's own snake_case shapes, unknown members ignored."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class OryPayload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class KratosTraits(OryPayload):
    public_key: Any = None  # checked by the service, which answers in Kratos's error shape
    voucher_code: Any = None


class KratosIdentity(OryPayload):
    id: UUID
    traits: KratosTraits = KratosTraits()


class KratosHookPayload(OryPayload):
    identity: KratosIdentity


class HydraTokenRequest(OryPayload):
    client_id: str
    grant_types: list[str] = []
    granted_scopes: list[str] | None = None


class HydraTokenHookPayload(OryPayload):
    session: dict[str, Any] = {}
    request: HydraTokenRequest
