"""The pure scoring of hybrid search (API.md §3.7, "Search rules").

The search repository computes the same formula in SQL; this module is the
reference the unit tests pin it with, and what a reviewer cross-checks the SQL
results against. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

RRF_K = 60
"""The constant of Reciprocal Rank Fusion: it damps how much a top rank outweighs the next."""

SEARCH_LEG_COUNT = 2
"""Hybrid search fuses two legs: vector distance and full-text rank."""

MAX_RRF = SEARCH_LEG_COUNT / (RRF_K + 1)
"""The best fused value: rank 1 in both legs, 2/61. Dividing by it maps relevance to [0, 1]."""

RECENCY_DECAY_PER_HOUR = 0.99
"""Recency is ``0.99 ** hours``: it halves in about 69 hours."""

IMPORTANCE_SCALE = 10
"""Importance is an integer 1-10; dividing by 10 maps it to (0, 1]."""

DEFAULT_W_RELEVANCE = 1.0
DEFAULT_W_RECENCY = 0.0
DEFAULT_W_IMPORTANCE = 0.0

SECONDS_PER_HOUR = 3600.0


def fuse_ranks(
    vector_ids: Sequence[UUID], text_ids: Sequence[UUID], k: int = RRF_K
) -> dict[UUID, float]:
    """Fuse the two legs' ranked ids into ``rrf = Σ 1/(k + rank)``, ranks 1-based.

    An entry scores only for the legs that returned it. Each leg is ordered best
    first; an id repeated inside one leg counts once, at its best rank, so a leg
    can never contribute more than ``1/(k + 1)``.
    """
    fused: dict[UUID, float] = {}
    for leg in (vector_ids, text_ids):
        seen: set[UUID] = set()
        for rank, entry_id in enumerate(leg, start=1):
            if entry_id in seen:
                continue
            seen.add(entry_id)
            fused[entry_id] = fused.get(entry_id, 0.0) + 1.0 / (k + rank)
    return fused


def relevance_from_rrf(rrf: float) -> float:
    """Normalise a fused value so rank 1 in both legs is exactly 1.0 (``rrf ÷ 2/61``)."""
    return rrf / MAX_RRF


def recency(hours_since_access: float) -> float:
    """``0.99 ** h``; a timestamp in the future (clock skew) counts as now, so this never exceeds 1."""
    return float(RECENCY_DECAY_PER_HOUR ** max(hours_since_access, 0.0))


def hours_since(moment: datetime, now: datetime) -> float:
    """Hours elapsed from ``moment`` (``lastAccessedAt``, else ``createdAt``) to ``now``."""
    return (now - moment).total_seconds() / SECONDS_PER_HOUR


def score(
    relevance: float,
    *,
    hours_since_access: float,
    importance: int,
    w_relevance: float = DEFAULT_W_RELEVANCE,
    w_recency: float = DEFAULT_W_RECENCY,
    w_importance: float = DEFAULT_W_IMPORTANCE,
) -> float:
    """``wRelevance·relevance + wRecency·0.99^h + wImportance·importance/10``.

    ``relevance`` is 0 in filter mode (no query); ``hours_since_access`` is the
    time since ``lastAccessedAt``, or since ``createdAt`` if never accessed.
    """
    return (
        w_relevance * relevance
        + w_recency * recency(hours_since_access)
        + w_importance * importance / IMPORTANCE_SCALE
    )
