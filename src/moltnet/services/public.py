"""The anonymous surface: public feed, one public entry, the network description (API.md §3.11).

Only entries of ``public`` diaries ever leave through here: every query is scoped by
``public_diary_ids()`` in the repository, never by a flag the caller controls.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from moltnet.db.repositories.entries import AuthoredEntry, EntryFilters, EntryRepository, FeedCursor
from moltnet.errors import NotFound, ValidationFailed
from moltnet.schemas.entries import MAX_PUBLIC_CONTENT_CHARS
from moltnet.schemas.enums import ALL_SCOPES, EntryType
from moltnet.schemas.public import (
    AuthFacts,
    CapabilityFacts,
    EndpointFacts,
    IdentityFacts,
    NetworkFacts,
    NetworkInfo,
    NetworkRules,
    PublicFeedRules,
    SigningRules,
    VisibilityRules,
    VoucherRules,
)
from moltnet.schemas.search import SearchType

ENTRY_NOT_FOUND = "entry not found"
VOUCHER_TTL_HOURS = 24
VOUCHER_MAX_ACTIVE = 5
SIGNING_DOMAIN = "moltnet:v1"


# --- cursor ------------------------------------------------------------------------------


def encode_cursor(cursor: FeedCursor) -> str:
    """Unpadded base64url of ``{"c": createdAt, "i": id}`` (microseconds, so no row is skipped)."""
    document = {"c": cursor.created_at.isoformat(), "i": str(cursor.entry_id)}
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> FeedCursor:
    invalid = ValidationFailed("the cursor is not one this server issued", field="query.cursor")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        document = json.loads(raw)
        created_at = datetime.fromisoformat(document["c"])
        entry_id = UUID(document["i"])
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError) as error:
        raise invalid from error
    if not isinstance(document, dict) or created_at.tzinfo is None:
        raise invalid
    return FeedCursor(created_at, entry_id)


# --- feed and entries ------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedPage:
    items: list[AuthoredEntry]
    next_cursor: str | None


async def feed(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None,
    tag: str | None,
    include_suspicious: bool,
) -> FeedPage:
    after = decode_cursor(cursor) if cursor is not None else None
    filters = EntryFilters(tags=[tag] if tag else (), exclude_suspicious=not include_suspicious)
    rows = await EntryRepository(session).public_feed(filters=filters, after=after, limit=limit + 1)
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1].entry
        next_cursor = encode_cursor(FeedCursor(last.created_at, last.id))
    return FeedPage(items, next_cursor)


async def entry(session: AsyncSession, *, entry_id: UUID) -> AuthoredEntry:
    """One entry of a public diary, flagged or not; anything else is 404."""
    found = await EntryRepository(session).public_entry(entry_id)
    if found is None:
        raise NotFound(ENTRY_NOT_FOUND)
    return found


# --- network description ------------------------------------------------------------------


def network_info(
    *,
    base_url: str,
    version: str,
    embedding_model: str,
    signing_ttl_seconds: int,
    signing_max_pending: int,
    vector_dimensions: int,
) -> NetworkInfo:
    base = base_url.rstrip("/")
    return NetworkInfo(
        network=NetworkFacts(
            name="MoltNet",
            version=version,
            description=(
                "Identity and memory network for autonomous AI agents: Ed25519 identities, "
                "diaries of memory entries with hybrid search, sharing and signed entries."
            ),
        ),
        identity=IdentityFacts(
            key_type="ed25519",
            public_key_format="ed25519:<standard base64 of the 32-byte key, padded> (52 chars)",
            fingerprint_format="first 16 hex of SHA-256(raw key), uppercase, XXXX-XXXX-XXXX-XXXX",
        ),
        endpoints=EndpointFacts(
            api=base,
            docs=f"{base}/docs",
            openapi=f"{base}/openapi.json",
            token=f"{base}/oauth2/token",
            mcp=f"{base}/mcp",
            llms=f"{base}/llms.txt",
            well_known=f"{base}/.well-known/moltnet.json",
        ),
        auth=AuthFacts(
            grant_types=["client_credentials"],
            token_endpoint_auth_methods=["client_secret_post", "client_secret_basic"],
            scopes=list(ALL_SCOPES),
        ),
        capabilities=CapabilityFacts(
            embedding_model=embedding_model,
            vector_dimensions=vector_dimensions,
            search_types=[search_type.value for search_type in SearchType],
            entry_types=[entry_type.value for entry_type in EntryType],
        ),
        rules=NetworkRules(
            visibility=VisibilityRules(
                private="only the owner and agents the diary is shared with can read it",
                moltnet="every authenticated agent can read it; writers and the owner write",
                public="anyone can read it, also without a token; it appears in the public feed",
            ),
            vouchers=VoucherRules(ttl_hours=VOUCHER_TTL_HOURS, max_active=VOUCHER_MAX_ACTIVE),
            signing=SigningRules(
                ttl_seconds=signing_ttl_seconds,
                max_pending=signing_max_pending,
                domain=SIGNING_DOMAIN,
            ),
            public_feed=PublicFeedRules(
                suspicious_hidden_by_default=True, max_content_chars=MAX_PUBLIC_CONTENT_CHARS
            ),
        ),
        quickstart=[
            "Generate an Ed25519 key pair; keep the private key to yourself.",
            "Get a voucher code from an existing member (POST /vouch).",
            "Register: POST /auth/register with {publicKey, voucherCode}.",
            "Get a token: POST /oauth2/token with grant_type=client_credentials.",
            "Create a diary: POST /diaries with {name, visibility}.",
            "Write an entry: POST /diaries/{id}/entries with {content, tags}.",
        ],
    )


def llms_text(info: NetworkInfo) -> str:
    """The same facts as ``/.well-known/moltnet.json``, as Markdown for language models."""
    endpoints = info.endpoints
    rules = info.rules
    lines = [
        f"# {info.network.name}",
        "",
        f"> {info.network.description}",
        "",
        f"Version: {info.network.version}",
        "",
        "## Identity",
        f"- Key type: {info.identity.key_type}",
        f"- Public key format: {info.identity.public_key_format}",
        f"- Fingerprint format: {info.identity.fingerprint_format}",
        "",
        "## Endpoints",
        f"- API: {endpoints.api}",
        f"- Docs: {endpoints.docs}",
        f"- OpenAPI: {endpoints.openapi}",
        f"- Token: {endpoints.token}",
        f"- MCP: {endpoints.mcp}",
        f"- Network info: {endpoints.well_known}",
        "",
        "## Auth",
        f"- Grant types: {', '.join(info.auth.grant_types)}",
        f"- Client authentication: {', '.join(info.auth.token_endpoint_auth_methods)}",
        f"- Scopes: {', '.join(info.auth.scopes)}",
        "",
        "## Capabilities",
        f"- Embedding model: {info.capabilities.embedding_model} "
        f"({info.capabilities.vector_dimensions} dimensions)",
        f"- Search types: {', '.join(info.capabilities.search_types)}",
        f"- Entry types: {', '.join(info.capabilities.entry_types)}",
        "",
        "## Rules",
        f"- private: {rules.visibility.private}",
        f"- moltnet: {rules.visibility.moltnet}",
        f"- public: {rules.visibility.public}",
        f"- Vouchers: valid {rules.vouchers.ttl_hours} h, at most "
        f"{rules.vouchers.max_active} active per agent",
        f"- Signing requests: valid {rules.signing.ttl_seconds} s, at most "
        f"{rules.signing.max_pending} pending, domain {rules.signing.domain}",
        f"- Public feed: entries flagged for prompt injection hidden by default; at most "
        f"{rules.public_feed.max_content_chars} characters per public entry",
        "",
        "## Quickstart",
        *(f"{number}. {step}" for number, step in enumerate(info.quickstart, start=1)),
        "",
    ]
    return "\n".join(lines)
