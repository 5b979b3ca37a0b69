from datetime import UTC, datetime, timedelta
from itertools import pairwise
from uuid import UUID, uuid4

import pytest

from moltnet.services import ranking
from moltnet.services.ranking import fuse_ranks, hours_since, recency, relevance_from_rrf, score


def ids(count: int) -> list[UUID]:
    return [uuid4() for _ in range(count)]


def test_fuse_ranks_matches_hand_computed_values() -> None:
    a, b, c, d = ids(4)
    fused = fuse_ranks([a, b, c], [c, a, d])
    assert fused[a] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[b] == pytest.approx(1 / 62)
    assert fused[c] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[d] == pytest.approx(1 / 63)
    assert set(fused) == {a, b, c, d}


def test_fuse_ranks_uses_given_k() -> None:
    a, b = ids(2)
    fused = fuse_ranks([a, b], [b], k=1)
    assert fused[a] == pytest.approx(1 / 2)
    assert fused[b] == pytest.approx(1 / 3 + 1 / 2)


def test_fuse_ranks_of_empty_legs_is_empty() -> None:
    assert fuse_ranks([], []) == {}


def test_fuse_ranks_counts_a_repeated_id_once_per_leg_at_its_best_rank() -> None:
    a, b = ids(2)
    fused = fuse_ranks([a, b, a], [])
    assert fused[a] == pytest.approx(1 / 61)
    assert fused[b] == pytest.approx(1 / 62)


def test_relevance_is_one_when_both_legs_rank_the_entry_first() -> None:
    a, b = ids(2)
    fused = fuse_ranks([a, b], [a, b])
    assert relevance_from_rrf(fused[a]) == pytest.approx(1.0)
    assert pytest.approx(2 / 61) == ranking.MAX_RRF


def test_relevance_is_half_when_one_leg_ranks_the_entry_first() -> None:
    a, b = ids(2)
    only_vector = fuse_ranks([a], [b])
    assert relevance_from_rrf(only_vector[a]) == pytest.approx(0.5)
    assert relevance_from_rrf(only_vector[b]) == pytest.approx(0.5)


def test_relevance_falls_as_rank_worsens() -> None:
    entries = ids(50)
    fused = fuse_ranks(entries, entries)
    relevances = [relevance_from_rrf(fused[entry]) for entry in entries]
    assert all(better > worse for better, worse in pairwise(relevances))
    assert relevances[-1] == pytest.approx((2 / 110) / (2 / 61))


def test_found_by_both_legs_beats_found_by_one_at_the_same_rank() -> None:
    both, vector_only = ids(2)
    fused = fuse_ranks([both, vector_only], [both])
    assert fused[both] > fused[vector_only]


def test_recency_is_one_at_zero_hours_and_halves_near_69_hours() -> None:
    assert recency(0) == 1.0
    assert recency(69) == pytest.approx(0.4998, abs=1e-4)
    assert recency(1) == pytest.approx(0.99)


def test_recency_treats_a_future_timestamp_as_now() -> None:
    assert recency(-5) == 1.0


def test_recency_decreases_with_age() -> None:
    values = [recency(hours) for hours in (0, 1, 10, 100, 1000)]
    assert values == sorted(values, reverse=True)
    assert len(set(values)) == len(values)


def test_hours_since_counts_elapsed_hours() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert hours_since(now - timedelta(hours=3, minutes=30), now) == pytest.approx(3.5)


def test_score_matches_hand_computed_value() -> None:
    value = score(
        0.5, hours_since_access=10, importance=7, w_relevance=0.6, w_recency=0.3, w_importance=0.1
    )
    assert value == pytest.approx(0.6 * 0.5 + 0.3 * 0.99**10 + 0.1 * 0.7)


def test_score_defaults_to_relevance_only() -> None:
    assert score(0.75, hours_since_access=500, importance=10) == pytest.approx(0.75)


def test_score_is_zero_when_every_weight_is_zero() -> None:
    value = score(
        1.0, hours_since_access=0, importance=10, w_relevance=0, w_recency=0, w_importance=0
    )
    assert value == 0.0


def test_score_rises_with_importance_and_falls_with_age() -> None:
    weights = {"w_relevance": 0.5, "w_recency": 0.25, "w_importance": 0.25}
    assert score(0.5, hours_since_access=1, importance=8, **weights) > score(
        0.5, hours_since_access=1, importance=3, **weights
    )
    assert score(0.5, hours_since_access=1, importance=5, **weights) > score(
        0.5, hours_since_access=48, importance=5, **weights
    )
