"""Hybrid search in one SQL statement (API.md §3.7, "Search rules").

One round trip computes both legs as CTEs, fuses them by Reciprocal Rank Fusion,
scores, orders and pages the result, and carries the exact ``total`` and a
"foreign model" probe on every row:

* vector leg: cosine distance to the query vector over the scope's rows that hold a
  vector of the *current* model. The scope's (id, distance) pairs are materialised
  first, so the distance is computed exactly over those rows and the planner cannot
  answer from the global HNSW index. ``bench/search.py`` measured, for a diary holding
  1 % of 100 k rows (top 10): exact scan 35 ms p50, recall 1.0; HNSW index alone 16 ms
  but 0.4 rows found (recall 0.03); pgvector iterative scan (``relaxed_order``, default
  ``max_scan_tuples``) 250 ms and recall 0.15. Exact it is; its cost grows with the
  caller's own entries, not with the table (``exact_vector_scan=False`` keeps the
  index path for the benchmark).
* full-text leg: ``websearch_to_tsquery('english', q)`` against the generated
  ``search_vector``, ranked by ``ts_rank``. A negated term (``-foo``) makes the
  tsquery a filter on the vector leg too.
* each leg keeps its top ``2 * (offset + limit)``; ``rrf = Σ 1/(k + rank)``;
  ``relevance = rrf ÷ max_rrf``; ``score = wRel·relevance + wRec·decay^h + wImp·importance/scale``.

The constants come from the caller (``services/ranking.py`` is the reference for the
formula; a test checks that the scores computed here match it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Text,
    and_,
    cast,
    extract,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from moltnet.db.models import AgentKey, DiaryEntry
from moltnet.db.repositories.entries import EntryFilters

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Ranking:
    rrf_k: int
    max_rrf: float
    recency_decay_per_hour: float
    importance_scale: int


@dataclass(frozen=True)
class SearchSpec:
    scope: ColumnElement[bool]  # which entries the caller may reach
    ranking: Ranking
    filters: EntryFilters = field(default_factory=EntryFilters)
    query: str | None = None  # websearch syntax; None = filter mode
    vector: list[float] | None = None  # the query's embedding; None = no vector leg
    model_id: str | None = None  # the model that made ``vector``
    limit: int = 10
    offset: int = 0
    w_relevance: float = 1.0
    w_recency: float = 0.0
    w_importance: float = 0.0
    exact_vector_scan: bool = True


@dataclass(frozen=True)
class SearchHit:
    entry: DiaryEntry
    author: AgentKey
    score: float


@dataclass
class SearchPage:
    hits: list[SearchHit] = field(default_factory=list)
    total: int = 0
    foreign_model: str | None = None  # a model id other than the query's, found in scope


def _float(value: float) -> ColumnElement[float]:
    return literal(value, Float)


def build_search(spec: SearchSpec) -> tuple[Any, Any, Any]:
    """``(page statement, total expression, foreign-model expression)``."""
    entry = DiaryEntry
    base = [spec.scope, *spec.filters.clauses()]
    candidates = 2 * (spec.offset + spec.limit)
    legs = []
    matches: ColumnElement[bool] | None = None
    negated: ColumnElement[bool] | None = None

    if spec.query is not None:
        tsquery = func.websearch_to_tsquery(literal_column("'english'::regconfig"), spec.query)
        matches = entry.search_vector.bool_op("@@")(tsquery)
        # websearch_to_tsquery turns "-term" into "!'term'"; lexemes never hold a '!'.
        negated = func.strpos(cast(tsquery, Text), "!") > 0
        text_rank = func.ts_rank(entry.search_vector, tsquery)
        text_order = (text_rank.desc(), entry.id)
        legs.append(
            select(entry.id.label("id"), func.row_number().over(order_by=text_order).label("rank"))
            .where(*base, matches)
            .order_by(*text_order)
            .limit(candidates)
            .cte("text_leg")
        )

    if spec.vector is not None and spec.model_id is not None:
        vector_where = [*base, entry.embedding.is_not(None), entry.embedding_model == spec.model_id]
        if matches is not None and negated is not None:
            vector_where.append(or_(not_(negated), matches))
        if spec.exact_vector_scan:
            # MATERIALIZED keeps the planner from pushing the ORDER BY ... LIMIT into the
            # HNSW index; only (id, distance) is materialised, not the vectors.
            distance = entry.embedding.cosine_distance(spec.vector)
            scope = (
                select(entry.id.label("id"), distance.label("distance"))
                .where(*vector_where)
                .cte("vector_scope")
                .prefix_with("MATERIALIZED")
            )
            vector_order = (scope.c.distance, scope.c.id)
            vector_leg = (
                select(scope.c.id, func.row_number().over(order_by=vector_order).label("rank"))
                .order_by(*vector_order)
                .limit(candidates)
            )
        else:
            distance = entry.embedding.cosine_distance(spec.vector)
            ranked = select(entry.id.label("id"), distance.label("distance"))
            nearest = ranked.where(*vector_where).order_by(distance).limit(candidates)
            nearest_rows = nearest.subquery("nearest")
            vector_order = (nearest_rows.c.distance, nearest_rows.c.id)
            vector_leg = select(
                nearest_rows.c.id, func.row_number().over(order_by=vector_order).label("rank")
            )
        legs.append(vector_leg.cte("vector_leg"))

    recency_hours = cast(
        extract("epoch", func.now() - func.coalesce(entry.last_accessed_at, entry.created_at)),
        Float,
    ) / _float(SECONDS_PER_HOUR)
    recency = func.power(
        _float(spec.ranking.recency_decay_per_hour), func.greatest(recency_hours, _float(0.0))
    )
    importance = cast(entry.importance, Float) / _float(float(spec.ranking.importance_scale))

    statement = select(entry, AgentKey)
    if legs:
        union = union_all(*(select(leg.c.id, leg.c.rank) for leg in legs)).subquery("legs")
        fused = (
            select(
                union.c.id.label("id"),
                func.sum(literal_column("1.0::float8") / (spec.ranking.rrf_k + union.c.rank)).label(
                    "rrf"
                ),
            )
            .group_by(union.c.id)
            .cte("fused")
        )
        relevance: ColumnElement[Any] = fused.c.rrf / _float(spec.ranking.max_rrf)
        statement = statement.join(fused, fused.c.id == entry.id)
    else:
        relevance = _float(0.0)
        statement = statement.where(*base)

    score = (
        _float(spec.w_relevance) * relevance
        + _float(spec.w_recency) * recency
        + _float(spec.w_importance) * importance
    ).label("score")

    total_where = list(base)
    if matches is not None and negated is not None:
        if spec.vector is not None and spec.model_id is not None:
            has_vector = and_(entry.embedding.is_not(None), entry.embedding_model == spec.model_id)
            total_where.append(or_(matches, and_(has_vector, not_(negated))))
        else:
            total_where.append(matches)
    total = select(func.count()).select_from(entry).where(*total_where).correlate(None)
    foreign = None
    if spec.vector is not None and spec.model_id is not None:
        foreign = (
            select(entry.embedding_model)
            .where(*base, entry.embedding.is_not(None), entry.embedding_model != spec.model_id)
            .limit(1)
            .correlate(None)
            .scalar_subquery()
        )
    foreign_column = foreign if foreign is not None else literal(None, Text)
    statement = (
        statement.add_columns(
            score,
            total.scalar_subquery().label("total"),
            foreign_column.label("foreign_model"),
        )
        .join(AgentKey, AgentKey.identity_id == entry.author_id)
        .options(defer(entry.embedding))
        .order_by(score.desc(), entry.created_at.desc(), entry.id)
        .limit(spec.limit)
        .offset(spec.offset)
    )
    return statement, total, foreign_column


async def search(session: AsyncSession, spec: SearchSpec) -> SearchPage:
    """Run the search in one round trip (two when the requested page is empty)."""
    statement, total, foreign = build_search(spec)
    rows = (await session.execute(statement)).all()
    if not rows:
        # The page is past the end: total and the model probe still matter.
        meta = (await session.execute(select(total.scalar_subquery(), foreign))).one()
        return SearchPage([], int(meta[0]), meta[1])
    hits = [SearchHit(row[0], row[1], float(row[2])) for row in rows]
    return SearchPage(hits, int(rows[0][3]), rows[0][4])
