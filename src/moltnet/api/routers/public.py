"""The anonymous surface (API.md §3.11): public feed and search, public entries, network info."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import PlainTextResponse

from moltnet.api.deps import EmbedderDep, SessionDep, SettingsDep
from moltnet.config import APP_VERSION
from moltnet.embedding.protocol import EMBEDDING_DIMENSIONS
from moltnet.errors import ValidationFailed
from moltnet.schemas.enums import EntryType
from moltnet.schemas.public import NetworkInfo, PublicFeed, PublicFeedEntry, PublicSearchResponse
from moltnet.services import public, search

router = APIRouter(tags=["public"])

EntryId = Annotated[UUID, Path(alias="entryId")]
QueryBool = Literal["true", "false"]  # API.md §1.1: query booleans are true/false only
TagParam = Annotated[str | None, Query(min_length=1, max_length=50)]

FEED_CACHE = "public, max-age=300"
SEARCH_CACHE = "public, max-age=60"
ENTRY_CACHE = "public, max-age=3600"
INFO_CACHE = "public, max-age=3600"


def _no_nul(value: str | None, field: str) -> None:
    if value is not None and "\x00" in value:
        raise ValidationFailed(
            f"{field} must not contain the NUL character (U+0000)", field=f"query.{field}"
        )


def _entry_types(value: str | None) -> list[EntryType]:
    if value is None:
        return []
    items = value.split(",")
    try:
        types = [EntryType(item) for item in items]
    except ValueError as error:
        allowed = ", ".join(entry_type.value for entry_type in EntryType)
        raise ValidationFailed(
            f"entryTypes takes a comma-separated list of: {allowed}", field="query.entryTypes"
        ) from error
    return types


@router.get("/public/feed", summary="Public entries, newest first (opaque cursor)")
async def get_public_feed(
    session: SessionDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    tag: TagParam = None,
    include_suspicious: Annotated[QueryBool, Query(alias="includeSuspicious")] = "false",
) -> PublicFeed:
    _no_nul(tag, "tag")
    _no_nul(cursor, "cursor")
    page = await public.feed(
        session,
        limit=limit,
        cursor=cursor,
        tag=tag,
        include_suspicious=include_suspicious == "true",
    )
    response.headers["Cache-Control"] = FEED_CACHE
    return PublicFeed(
        items=[PublicFeedEntry.of(found.entry, found.author) for found in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/public/feed/search", summary="Hybrid search over public entries")
async def search_public_feed(
    session: SessionDep,
    embedder: EmbedderDep,
    response: Response,
    q: Annotated[str, Query(min_length=2, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    tag: TagParam = None,
    entry_types: Annotated[str | None, Query(alias="entryTypes")] = None,
    exclude_superseded: Annotated[QueryBool, Query(alias="excludeSuperseded")] = "false",
    include_suspicious: Annotated[QueryBool, Query(alias="includeSuspicious")] = "false",
) -> PublicSearchResponse:
    _no_nul(q, "q")
    _no_nul(tag, "tag")
    if not q.strip():
        raise ValidationFailed("q must contain a non-space character", field="query.q")
    hits = await search.search_public(
        session,
        embedder=embedder,
        query=q,
        limit=limit,
        tag=tag,
        entry_types=_entry_types(entry_types),
        exclude_superseded=exclude_superseded == "true",
        include_suspicious=include_suspicious == "true",
    )
    response.headers["Cache-Control"] = SEARCH_CACHE
    return PublicSearchResponse(
        items=[PublicFeedEntry.of(hit.entry, hit.author) for hit in hits], query=q
    )


@router.get("/public/entry/{entryId}", summary="One public entry (shown even when flagged)")
async def get_public_entry(
    entry_id: EntryId, session: SessionDep, response: Response
) -> PublicFeedEntry:
    found = await public.entry(session, entry_id=entry_id)
    response.headers["Cache-Control"] = ENTRY_CACHE
    return PublicFeedEntry.of(found.entry, found.author)


def _network_info(settings: SettingsDep, embedder: EmbedderDep) -> NetworkInfo:
    return public.network_info(
        base_url=settings.public_base_url,
        version=APP_VERSION,
        embedding_model=embedder.model_id,
        signing_ttl_seconds=settings.signing.request_ttl_seconds,
        signing_max_pending=settings.signing.max_pending_requests,
        vector_dimensions=EMBEDDING_DIMENSIONS,
    )


@router.get("/.well-known/moltnet.json", summary="What this network is and how to join it")
async def get_network_info(
    settings: SettingsDep, embedder: EmbedderDep, response: Response
) -> NetworkInfo:
    response.headers["Cache-Control"] = INFO_CACHE
    return _network_info(settings, embedder)


@router.get(
    "/llms.txt",
    summary="The network description as Markdown for language models",
    response_class=PlainTextResponse,
)
async def get_llms_text(settings: SettingsDep, embedder: EmbedderDep) -> PlainTextResponse:
    text = public.llms_text(_network_info(settings, embedder))
    return PlainTextResponse(
        text, media_type="text/plain; charset=utf-8", headers={"Cache-Control": INFO_CACHE}
    )
