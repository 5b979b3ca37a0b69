"""Signing requests and signature verification (API.md §2 SigningRequest, §3.3, §3.4)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from moltnet.schemas.base import RequestModel, ResponseModel, StrictStr, Timestamp
from moltnet.schemas.enums import SigningRequestStatus

MAX_MESSAGE_CHARS = 100_000
# 64 bytes in padded standard base64 are 88 characters; the exact decoding is checked by
# the service (so a malformed signature is a 400 with a precise message, not a pattern).
MAX_SIGNATURE_CHARS = 200


class SigningRequestCreate(RequestModel):
    message: Annotated[StrictStr, Field(min_length=1, max_length=MAX_MESSAGE_CHARS)]


class SignatureSubmit(RequestModel):
    """Body of ``/sign`` and of both verify routes."""

    signature: Annotated[StrictStr, Field(min_length=1, max_length=MAX_SIGNATURE_CHARS)]


class SigningRequestRead(ResponseModel):
    id: UUID
    agent_id: UUID
    message: str
    nonce: UUID
    signing_input: str = Field(description="standard base64 of the 86 bytes to sign (§5.3)")
    status: SigningRequestStatus = Field(description="pending past expiresAt reads expired")
    signature: str | None
    valid: bool | None
    created_at: Timestamp
    expires_at: Timestamp
    completed_at: Timestamp | None


class VerifyResult(ResponseModel):
    valid: bool


class Signer(ResponseModel):
    fingerprint: str


class AgentVerifyResult(ResponseModel):
    valid: bool
    signer: Signer | None
