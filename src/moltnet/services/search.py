"""Hybrid search over the entries a caller can reach, and over public diaries (API.md §3.7, §3.11).

The query is embedded first (``query: `` prefix, added by the embedder); when the
embedder fails the search runs full text only and says so in ``searchType``, never
a 5xx. Stored vectors from another model than the running one are refused with a
503: comparing vectors of two models returns confident nonsense, and ``moltnet
reembed`` is the fix (API.md leaves the choice; a silent full-text fallback would hide
a misconfigured deployment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from moltnet.db.models import DiaryEntry
from moltnet.db.repositories import search as search_repository
from moltnet.db.repositories.entries import EntryFilters, EntryRepository, public_diary_ids
from moltnet.db.repositories.search import Ranking, SearchHit, SearchSpec
from moltnet.embedding.protocol import Embedder, EmbeddingModelMismatch, ensure_same_model
from moltnet.errors import ServiceUnavailable
from moltnet.schemas.auth import AuthSubject
from moltnet.schemas.enums import EntryType
from moltnet.schemas.search import SearchRequest, SearchType
from moltnet.services import ranking
from moltnet.services.authz import Authz

logger = structlog.get_logger(__name__)

RANKING = Ranking(
    rrf_k=ranking.RRF_K,
    max_rrf=ranking.MAX_RRF,
    recency_decay_per_hour=ranking.RECENCY_DECAY_PER_HOUR,
    importance_scale=ranking.IMPORTANCE_SCALE,
)


@dataclass(frozen=True)
class SearchOutcome:
    hits: list[SearchHit]
    total: int
    search_type: SearchType


async def _embed_query(embedder: Embedder, query: str) -> list[float] | None:
    try:
        return await embedder.embed_query(query)
    except Exception as error:  # fall back to full text, never a 5xx
        logger.warning("query embedding failed; searching full text", error=type(error).__name__)
        return None


async def _run(
    session: AsyncSession,
    embedder: Embedder,
    *,
    scope: ColumnElement[bool],
    filters: EntryFilters,
    query: str | None,
    limit: int,
    offset: int,
    w_relevance: float = ranking.DEFAULT_W_RELEVANCE,
    w_recency: float = ranking.DEFAULT_W_RECENCY,
    w_importance: float = ranking.DEFAULT_W_IMPORTANCE,
) -> SearchOutcome:
    vector = await _embed_query(embedder, query) if query is not None else None
    if query is None:
        search_type = SearchType.filter
    else:
        search_type = SearchType.hybrid if vector is not None else SearchType.fulltext
    spec = SearchSpec(
        scope=scope,
        ranking=RANKING,
        filters=filters,
        query=query,
        vector=vector,
        model_id=embedder.model_id if vector is not None else None,
        limit=limit,
        offset=offset,
        w_relevance=w_relevance,
        w_recency=w_recency,
        w_importance=w_importance,
    )
    page = await search_repository.search(session, spec)
    if page.foreign_model is not None:
        try:
            ensure_same_model(page.foreign_model, embedder.model_id)
        except EmbeddingModelMismatch as error:
            raise ServiceUnavailable(str(error)) from error
    return SearchOutcome(page.hits, page.total, search_type)


async def search(
    session: AsyncSession,
    *,
    authz: Authz,
    embedder: Embedder,
    subject: AuthSubject,
    request: SearchRequest,
) -> SearchOutcome:
    """Search one readable diary, or the caller's own diaries (plus accepted shares)."""
    if request.diary_id is not None:
        diary = await authz.readable_diary(subject, request.diary_id)
        scope = DiaryEntry.diary_id == diary.id
    else:
        accessible = authz.accessible_diary_ids(subject, include_shared=request.include_shared)
        scope = DiaryEntry.diary_id.in_(accessible)
    filters = EntryFilters(
        tags=request.tags or (),
        exclude_tags=request.exclude_tags or (),
        entry_types=request.entry_types or (),
        exclude_superseded=request.exclude_superseded,
    )
    outcome = await _run(
        session,
        embedder,
        scope=scope,
        filters=filters,
        query=request.query,
        limit=request.limit,
        offset=request.offset,
        w_relevance=request.w_relevance,
        w_recency=request.w_recency,
        w_importance=request.w_importance,
    )
    # The results show the counters from before this search; the hits count as accesses.
    await EntryRepository(session).count_access([hit.entry.id for hit in outcome.hits])
    return outcome


async def search_public(
    session: AsyncSession,
    *,
    embedder: Embedder,
    query: str,
    limit: int,
    tag: str | None,
    entry_types: Sequence[EntryType],
    exclude_superseded: bool,
    include_suspicious: bool,
) -> list[SearchHit]:
    """Hybrid search over every public diary. Anonymous and cacheable, so it counts no access."""
    filters = EntryFilters(
        tags=[tag] if tag else (),
        entry_types=entry_types,
        exclude_superseded=exclude_superseded,
        exclude_suspicious=not include_suspicious,
    )
    outcome = await _run(
        session,
        embedder,
        scope=DiaryEntry.diary_id.in_(public_diary_ids()),
        filters=filters,
        query=query,
        limit=limit,
        offset=0,
    )
    return outcome.hits
