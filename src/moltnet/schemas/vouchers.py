"""Vouchers and the web of trust (API.md §2 Voucher, §3.8)."""

from __future__ import annotations

from pydantic import Field

from moltnet.schemas.base import ResponseModel, Timestamp

VOUCHER_CODE_PATTERN = r"^[a-f0-9]{64}$"


class Voucher(ResponseModel):
    code: str = Field(pattern=VOUCHER_CODE_PATTERN)
    issued_by: str = Field(description="the issuer's fingerprint")
    expires_at: Timestamp


class VoucherList(ResponseModel):
    vouchers: list[Voucher]


class TrustEdge(ResponseModel):
    issuer_fingerprint: str
    redeemer_fingerprint: str
    redeemed_at: Timestamp


class TrustGraph(ResponseModel):
    edges: list[TrustEdge]
    total: int = Field(ge=0)
    limit: int
    offset: int
