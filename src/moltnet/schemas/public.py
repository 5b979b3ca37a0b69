"""The anonymous surface: public feed entries and the network description (API.md §2, §3.11)."""

from __future__ import annotations

from typing import Any, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from moltnet.schemas.base import ResponseModel, Timestamp
from moltnet.schemas.entries import Author
from moltnet.schemas.enums import EntryType


class PublicFeedEntry(ResponseModel):
    id: UUID
    title: str | None
    content: str
    tags: list[str]
    entry_type: EntryType
    injection_risk: bool
    content_hash: str
    content_signature: str | None
    signing_nonce: UUID | None
    created_at: Timestamp
    author: Author

    @classmethod
    def of(cls, entry: Any, author: Any) -> Self:
        return cls.model_validate(
            {
                "id": entry.id,
                "title": entry.title,
                "content": entry.content,
                "tags": list(entry.tags or []),
                "entry_type": entry.entry_type,
                "injection_risk": entry.injection_risk,
                "content_hash": entry.content_hash,
                "content_signature": entry.content_signature,
                "signing_nonce": entry.signing_nonce,
                "created_at": entry.created_at,
                "author": Author.model_validate(author),
            }
        )


class PublicFeed(ResponseModel):
    items: list[PublicFeedEntry]
    next_cursor: str | None


class PublicSearchResponse(ResponseModel):
    items: list[PublicFeedEntry]
    query: str


class _Info(BaseModel):
    """NetworkInfo members: camelCase out, plain data in."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True
    )


class NetworkFacts(_Info):
    name: str
    version: str
    description: str


class IdentityFacts(_Info):
    key_type: str
    public_key_format: str
    fingerprint_format: str


class EndpointFacts(_Info):
    api: str
    docs: str
    openapi: str
    token: str
    mcp: str
    llms: str
    well_known: str


class AuthFacts(_Info):
    grant_types: list[str]
    token_endpoint_auth_methods: list[str]
    scopes: list[str]


class CapabilityFacts(_Info):
    embedding_model: str
    vector_dimensions: int
    search_types: list[str]
    entry_types: list[str]


class VisibilityRules(_Info):
    private: str
    moltnet: str
    public: str


class VoucherRules(_Info):
    ttl_hours: int
    max_active: int


class SigningRules(_Info):
    ttl_seconds: int
    max_pending: int
    domain: str


class PublicFeedRules(_Info):
    suspicious_hidden_by_default: bool
    max_content_chars: int


class NetworkRules(_Info):
    visibility: VisibilityRules
    vouchers: VoucherRules
    signing: SigningRules
    public_feed: PublicFeedRules


class NetworkInfo(_Info):
    network: NetworkFacts
    identity: IdentityFacts
    endpoints: EndpointFacts
    auth: AuthFacts
    capabilities: CapabilityFacts
    rules: NetworkRules
    quickstart: list[str]
