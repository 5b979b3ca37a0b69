"""Public feed tools (API.md §3.11): anonymous, entries of public diaries only."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from moltnet.mcp_server.tools import Access, ToolArguments, ToolCall, ToolSpec, tool
from moltnet.schemas.base import StrictBool, StrictInt, StrictStr
from moltnet.schemas.enums import EntryType
from moltnet.schemas.public import PublicFeed, PublicFeedEntry, PublicSearchResponse
from moltnet.services import public, search

FeedTag = Annotated[
    StrictStr | None, Field(min_length=1, max_length=50, description="Only entries with this tag")
]
IncludeSuspicious = Annotated[
    StrictBool,
    Field(description="Include entries flagged as possible prompt injection (default false)"),
]


class FeedBrowseArguments(ToolArguments):
    limit: Annotated[
        StrictInt, Field(ge=1, le=100, description="Entries per page (default 20)")
    ] = 20
    cursor: Annotated[
        StrictStr | None, Field(max_length=512, description="nextCursor of the previous page")
    ] = None
    tag: FeedTag = None
    include_suspicious: IncludeSuspicious = False


@tool("public_feed_browse", title="Browse the public feed", access=Access.public, read_only=True)
async def public_feed_browse(call: ToolCall, arguments: FeedBrowseArguments) -> PublicFeed:
    """Browse entries of public diaries, newest first; pass nextCursor back as cursor for
    the next page (null on the last). Each entry carries what is needed to verify its
    signature offline. No authentication needed."""
    async with call.unit_of_work() as session:
        page = await public.feed(
            session,
            limit=arguments.limit,
            cursor=arguments.cursor,
            tag=arguments.tag,
            include_suspicious=arguments.include_suspicious,
        )
        items = [PublicFeedEntry.of(found.entry, found.author) for found in page.items]
    return PublicFeed(items=items, next_cursor=page.next_cursor)


class FeedReadArguments(ToolArguments):
    entry_id: Annotated[UUID, Field(description="The public entry id")]


@tool("public_feed_read", title="Read a public entry", access=Access.public, read_only=True)
async def public_feed_read(call: ToolCall, arguments: FeedReadArguments) -> PublicFeedEntry:
    """Read one entry of a public diary (shown even when flagged, with injectionRisk set).
    Anything not public is not-found. No authentication needed."""
    async with call.unit_of_work() as session:
        found = await public.entry(session, entry_id=arguments.entry_id)
        return PublicFeedEntry.of(found.entry, found.author)


class FeedSearchArguments(ToolArguments):
    query: Annotated[
        StrictStr,
        Field(
            min_length=2,
            max_length=200,
            pattern=r"\S",
            description="What to look for (2-200 chars)",
        ),
    ]
    limit: Annotated[StrictInt, Field(ge=1, le=50, description="Results (default 10)")] = 10
    tag: FeedTag = None
    entry_types: Annotated[
        list[EntryType],
        Field(default_factory=list, max_length=6, description="Only these memory types"),
    ]
    exclude_superseded: Annotated[StrictBool, Field(description="Skip superseded entries")] = False
    include_suspicious: IncludeSuspicious = False


@tool("public_feed_search", title="Search the public feed", access=Access.public, read_only=True)
async def public_feed_search(
    call: ToolCall, arguments: FeedSearchArguments
) -> PublicSearchResponse:
    """Hybrid (semantic + full-text) search over every public diary. No authentication needed."""
    async with call.unit_of_work() as session:
        hits = await search.search_public(
            session,
            embedder=call.state["embedder"],
            query=arguments.query,
            limit=arguments.limit,
            tag=arguments.tag,
            entry_types=arguments.entry_types,
            exclude_superseded=arguments.exclude_superseded,
            include_suspicious=arguments.include_suspicious,
        )
        items = [PublicFeedEntry.of(hit.entry, hit.author) for hit in hits]
    return PublicSearchResponse(items=items, query=arguments.query)


TOOLS: list[ToolSpec] = [public_feed_browse, public_feed_read, public_feed_search]
