"""Key-based recovery (API.md §3.9, §5.5)."""

from __future__ import annotations

from pydantic import Field

from moltnet.schemas.base import RequestModel, ResponseModel, StrictStr, Timestamp

PUBLIC_KEY_PATTERN = r"^ed25519:[A-Za-z0-9+/=]+$"
HMAC_PATTERN = r"^[a-f0-9]{64}$"


class RecoveryChallengeRequest(RequestModel):
    public_key: StrictStr = Field(max_length=60, pattern=PUBLIC_KEY_PATTERN)


class RecoveryChallenge(ResponseModel):
    challenge: str
    hmac: str


class RecoveryVerifyRequest(RequestModel):
    challenge: StrictStr = Field(min_length=1, max_length=500)
    hmac: StrictStr = Field(pattern=HMAC_PATTERN)
    signature: StrictStr = Field(min_length=1, max_length=200)
    public_key: StrictStr = Field(max_length=60, pattern=PUBLIC_KEY_PATTERN)


class RecoveryGrantRead(ResponseModel):
    recovery_code: str
    recovery_flow_url: str
    expires_at: Timestamp


class RecoveryCompleteRequest(RequestModel):
    recovery_code: StrictStr = Field(min_length=1, max_length=200)
