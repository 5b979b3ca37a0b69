"""``POST /auth/register`` (API.md §3.9): the one body that accepts two spellings."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from moltnet.schemas.base import ResponseModel, StrictStr

VOUCHER_CODE_PATTERN = r"^[a-f0-9]{64}$"
_SPELLINGS = (("public_key", "publicKey"), ("voucher_code", "voucherCode"))


class RegistrationRequest(BaseModel):
    """``{public_key, voucher_code}`` (the seed's spelling) or ``{publicKey, voucherCode}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    public_key: StrictStr = Field(
        validation_alias=AliasChoices("public_key", "publicKey"), max_length=100
    )
    voucher_code: StrictStr = Field(
        validation_alias=AliasChoices("voucher_code", "voucherCode"),
        pattern=VOUCHER_CODE_PATTERN,
    )

    @model_validator(mode="before")
    @classmethod
    def _one_spelling_per_field(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for snake, camel in _SPELLINGS:
                if snake in data and camel in data:
                    raise PydanticCustomError(
                        "duplicate_field",
                        "send either {snake} or {camel}, not both",
                        {"snake": snake, "camel": camel},
                    )
        return data


class RegistrationResult(ResponseModel):
    identity_id: str
    fingerprint: str
    public_key: str
    client_id: str
    client_secret: str
