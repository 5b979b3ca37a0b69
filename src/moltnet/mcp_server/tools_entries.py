"""Entry and search tools (API.md §3.7): the same services, checks and workflows as REST."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, model_validator
from pydantic.alias_generators import to_camel

from moltnet.db.repositories.entries import AuthoredEntry, EntryFilters
from moltnet.mcp_server.tools import Access, ToolArguments, ToolCall, ToolSpec, tool
from moltnet.mcp_server.tools_diaries import DiaryId, Limit, Offset
from moltnet.schemas.base import Page, StrictBool, StrictInt, StrictStr, SuccessResponse
from moltnet.schemas.entries import (
    CID_REGEX,
    MAX_TAGS,
    Content,
    EntryCreate,
    EntryRead,
    EntryUpdate,
    EntryVerification,
    Importance,
    Tag,
    Tags,
    Title,
)
from moltnet.schemas.enums import EntryType, Scope
from moltnet.schemas.search import (
    DEFAULT_SEARCH_LIMIT,
    MAX_SEARCH_LIMIT,
    MAX_SEARCH_OFFSET,
    Query,
    SearchRequest,
    SearchResponse,
    SearchResult,
    TagFilter,
    Weight,
)
from moltnet.services import entries, search

EntryId = Annotated[UUID, Field(description="Entry identifier (UUID)")]
# The classic tools took the diary id on by-id routes; it is optional here and, when
# given, the entry must belong to that diary (not-found otherwise), as on the nested routes.
OptionalDiaryId = Annotated[
    UUID | None,
    Field(description="Optional: the entry's diary; not-found if the entry is elsewhere"),
]
TagList = Annotated[list[Tag], Field(max_length=MAX_TAGS)]


def present(found: AuthoredEntry) -> EntryRead:
    return EntryRead.of(found.entry, found.author)


def camel_body(arguments: ToolArguments, *, exclude: set[str]) -> dict[str, Any]:
    """The REST body for these arguments: only what the caller sent, camelCase."""
    return {
        to_camel(name): value
        for name, value in arguments.model_dump(exclude_unset=True, exclude=exclude).items()
    }


class EntriesCreateArguments(ToolArguments):
    diary_id: DiaryId
    content: Annotated[
        Content, Field(description="The memory (1-100,000 chars; ≤ 10,000 in a public diary)")
    ]
    title: Annotated[Title | None, Field(description="Title (≤ 255 chars)")] = None
    tags: Annotated[
        Tags, Field(default_factory=list, description="Up to 20 unique tags, 1-50 chars each")
    ]
    importance: Annotated[
        Importance, Field(description="1 = trivial … 10 = critical (default 5)")
    ] = 5
    entry_type: Annotated[EntryType, Field(description="Memory type (default semantic)")] = (
        EntryType.semantic
    )
    signing_request_id: Annotated[
        UUID | None,
        Field(
            description="A completed, valid signing request whose message is this entry's CID "
            "(see crypto_prepare_signature): the entry is stored signed and becomes immutable"
        ),
    ] = None
    content_hash: Annotated[
        StrictStr | None,
        Field(
            pattern=CID_REGEX, description="Optional: the CID you signed; must equal the server's"
        ),
    ] = None

    @model_validator(mode="after")
    def _hash_needs_request(self) -> EntriesCreateArguments:
        if self.content_hash is not None and self.signing_request_id is None:
            raise ValueError("content_hash is accepted only together with signing_request_id")
        return self


@tool("entries_create", title="Write a memory", access=Access.required, scope=Scope.diary_write)
async def entries_create(call: ToolCall, arguments: EntriesCreateArguments) -> EntryRead:
    """Write a memory entry into a diary you own or may write to. It is embedded for
    semantic search, content-addressed (contentHash, a CIDv1) and screened for prompt
    injection. Pass signing_request_id to store it signed (immutable). Needs diary:write."""
    data = EntryCreate.model_validate(camel_body(arguments, exclude={"diary_id"}))
    async with call.unit_of_work() as session:
        created = await entries.create(
            session,
            authz=call.authz(session),
            embedder=call.state["embedder"],
            enqueuer=call.state["enqueuer"],
            subject=call.caller,
            diary_id=arguments.diary_id,
            data=data,
        )
        return present(created)


class EntryArguments(ToolArguments):
    entry_id: EntryId
    diary_id: OptionalDiaryId = None


@tool(
    "entries_get",
    title="Read a memory",
    access=Access.optional,
    scope=Scope.diary_read,
    read_only=True,
)
async def entries_get(call: ToolCall, arguments: EntryArguments) -> EntryRead:
    """Read one entry by id (counts as an access). Entries of public diaries are readable
    without authentication; an entry you cannot read is reported as not-found."""
    async with call.unit_of_work() as session:
        found = await entries.get(
            session,
            authz=call.authz(session),
            subject=call.subject,
            entry_id=arguments.entry_id,
            diary_id=arguments.diary_id,
        )
        return present(found)


class EntriesListArguments(ToolArguments):
    diary_id: DiaryId
    limit: Limit = 20
    offset: Offset = 0
    tags: Annotated[
        TagList, Field(default_factory=list, description="Only entries carrying ALL these tags")
    ]
    exclude_tags: Annotated[
        TagList, Field(default_factory=list, description="Skip entries carrying ANY of these tags")
    ]
    entry_type: Annotated[EntryType | None, Field(description="Only this memory type")] = None
    exclude_superseded: Annotated[StrictBool, Field(description="Skip superseded entries")] = False


@tool(
    "entries_list",
    title="List a diary's memories",
    access=Access.optional,
    scope=Scope.diary_read,
    read_only=True,
)
async def entries_list(call: ToolCall, arguments: EntriesListArguments) -> Page[EntryRead]:
    """List a diary's entries, newest first, with optional tag and type filters and an
    exact total (listing does not count as access). Public diaries need no authentication."""
    filters = EntryFilters(
        tags=arguments.tags,
        exclude_tags=arguments.exclude_tags,
        entry_types=[arguments.entry_type] if arguments.entry_type is not None else (),
        exclude_superseded=arguments.exclude_superseded,
    )
    async with call.unit_of_work() as session:
        page = await entries.list_entries(
            session,
            authz=call.authz(session),
            subject=call.subject,
            diary_id=arguments.diary_id,
            filters=filters,
            limit=arguments.limit,
            offset=arguments.offset,
        )
        items = [present(found) for found in page.items]
    return Page[EntryRead](
        items=items, total=page.total, limit=arguments.limit, offset=arguments.offset
    )


class EntriesSearchArguments(ToolArguments):
    query: Annotated[
        Query | None,
        Field(
            description='Natural language or websearch syntax (1-500 chars): "exact phrase", '
            "-excluded, OR. Omit to filter only."
        ),
    ] = None
    diary_id: Annotated[
        UUID | None, Field(description="Search this diary only (any diary you can read)")
    ] = None
    tags: Annotated[TagFilter | None, Field(description="Entries must carry ALL these tags")] = None
    exclude_tags: Annotated[
        TagFilter | None, Field(description="Entries must carry NONE of these")
    ] = None
    entry_types: Annotated[
        list[EntryType] | None,
        Field(min_length=1, max_length=6, description="Only these memory types"),
    ] = None
    limit: Annotated[
        StrictInt, Field(ge=1, le=MAX_SEARCH_LIMIT, description="Results (default 10)")
    ] = DEFAULT_SEARCH_LIMIT
    offset: Annotated[
        StrictInt, Field(ge=0, le=MAX_SEARCH_OFFSET, description="Results to skip")
    ] = 0
    w_relevance: Annotated[
        Weight, Field(description="Weight of text/semantic relevance (0-1, default 1)")
    ] = 1.0
    w_recency: Annotated[Weight, Field(description="Weight of recency (0-1, default 0)")] = 0.0
    w_importance: Annotated[Weight, Field(description="Weight of importance (0-1, default 0)")] = (
        0.0
    )
    exclude_superseded: Annotated[StrictBool, Field(description="Skip superseded entries")] = False
    include_shared: Annotated[
        StrictBool, Field(description="Without diary_id: also search diaries shared with you")
    ] = False


@tool(
    "entries_search",
    title="Search memories",
    access=Access.required,
    scope=Scope.diary_read,
    read_only=True,
)
async def entries_search(call: ToolCall, arguments: EntriesSearchArguments) -> SearchResponse:
    """Hybrid search (semantic vectors + full text, fused by rank) over your diaries, one
    diary you can read (diary_id), or also diaries shared with you (include_shared). Results
    carry a score; searchType says hybrid, fulltext or filter. Needs diary:read."""
    request = SearchRequest.model_validate(camel_body(arguments, exclude=set()))
    async with call.unit_of_work() as session:
        outcome = await search.search(
            session,
            authz=call.authz(session),
            embedder=call.state["embedder"],
            subject=call.caller,
            request=request,
        )
        results = [SearchResult.scored(hit.entry, hit.author, hit.score) for hit in outcome.hits]
    return SearchResponse(results=results, total=outcome.total, search_type=outcome.search_type)


class EntriesUpdateArguments(ToolArguments):
    entry_id: EntryId
    diary_id: OptionalDiaryId = None
    title: Annotated[Title | None, Field(description="New title (null clears it)")] = None
    content: Annotated[Content | None, Field(description="New content")] = None
    tags: Annotated[Tags | None, Field(description="New tags (replace the old ones)")] = None
    importance: Annotated[Importance | None, Field(description="New importance (1-10)")] = None
    entry_type: Annotated[EntryType | None, Field(description="New memory type")] = None
    superseded_by: Annotated[
        UUID | None,
        Field(description="A newer entry of the same diary that replaces this one (null clears)"),
    ] = None

    @model_validator(mode="after")
    def _at_least_one(self) -> EntriesUpdateArguments:
        changes = self.model_fields_set - {"entry_id", "diary_id"}
        if not changes:
            raise ValueError("send at least one field to change")
        for name in ("content", "tags", "importance", "entry_type"):
            if name in changes and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


@tool("entries_update", title="Edit a memory", access=Access.required, scope=Scope.diary_write)
async def entries_update(call: ToolCall, arguments: EntriesUpdateArguments) -> EntryRead:
    """Edit an entry (title, content, tags, importance, type, superseded_by). Signed entries
    are immutable except importance (on most types) and superseded_by. Unsigned edits
    recompute the content hash and the embedding. Needs diary:write."""
    data = EntryUpdate.model_validate(camel_body(arguments, exclude={"entry_id", "diary_id"}))
    async with call.unit_of_work() as session:
        found = await entries.update(
            session,
            authz=call.authz(session),
            embedder=call.state["embedder"],
            enqueuer=call.state["enqueuer"],
            subject=call.caller,
            entry_id=arguments.entry_id,
            data=data,
            diary_id=arguments.diary_id,
        )
        return present(found)


@tool(
    "entries_delete",
    title="Delete a memory",
    access=Access.required,
    scope=Scope.diary_delete,
    destructive=True,
)
async def entries_delete(call: ToolCall, arguments: EntryArguments) -> SuccessResponse:
    """Delete an entry (signed entries cannot be deleted: immutable). Needs diary:delete."""
    async with call.unit_of_work() as session:
        await entries.delete(
            session,
            authz=call.authz(session),
            enqueuer=call.state["enqueuer"],
            subject=call.caller,
            entry_id=arguments.entry_id,
            diary_id=arguments.diary_id,
        )
    return SuccessResponse()


@tool(
    "entries_verify",
    title="Verify a memory",
    access=Access.optional,
    scope=Scope.diary_read,
    read_only=True,
)
async def entries_verify(call: ToolCall, arguments: EntryArguments) -> EntryVerification:
    """Check an entry's integrity: recompute its content hash and verify its Ed25519
    signature with the author's key. valid = signed, hash matches and signature verifies."""
    async with call.unit_of_work() as session:
        return await entries.verify(
            session,
            authz=call.authz(session),
            subject=call.subject,
            entry_id=arguments.entry_id,
            diary_id=arguments.diary_id,
        )


TOOLS: list[ToolSpec] = [
    entries_create,
    entries_get,
    entries_list,
    entries_search,
    entries_update,
    entries_delete,
    entries_verify,
]
