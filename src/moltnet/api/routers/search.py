"""Hybrid search (API.md §3.7). ``POST /diaries/search`` is a literal path: it wins over
``/diaries/{diaryId}``, and this router is mounted before the diaries router anyway."""

from __future__ import annotations

from fastapi import APIRouter

from moltnet.api.auth import DiaryReader
from moltnet.api.deps import AuthzDep, EmbedderDep
from moltnet.schemas.search import SearchRequest, SearchResponse, SearchResult
from moltnet.services import search

router = APIRouter(tags=["entries"])


@router.post("/diaries/search", summary="Hybrid search over entries (vector + full text)")
async def search_entries(
    body: SearchRequest, subject: DiaryReader, authz: AuthzDep, embedder: EmbedderDep
) -> SearchResponse:
    outcome = await search.search(
        authz.session, authz=authz, embedder=embedder, subject=subject, request=body
    )
    return SearchResponse(
        results=[SearchResult.scored(hit.entry, hit.author, hit.score) for hit in outcome.hits],
        total=outcome.total,
        search_type=outcome.search_type,
    )
