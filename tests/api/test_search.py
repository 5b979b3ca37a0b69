"""Hybrid search (API.md §3.7), through the HTTP API with the real embedder (tier A)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import numpy as np
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from moltnet.api.deps import get_embedder
from moltnet.embedding.onnx import OnnxEmbedder
from moltnet.embedding.protocol import passage_text
from moltnet.services import ranking
from tests.api.test_entries import assert_problem, create_diary, create_entry
from tests.fakes.embedder import DownEmbedder
from tests.fixtures.agents import Factories, TestAgent

SEARCH = "/diaries/search"


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    return OnnxEmbedder.from_default()


@pytest.fixture
def down_embedder(tier_a_app: tuple[FastAPI, LifespanManager]) -> Iterator[None]:
    """The app's embedder fails every call (the fallback paths only)."""
    app, _ = tier_a_app
    app.dependency_overrides[get_embedder] = DownEmbedder
    yield
    app.dependency_overrides.pop(get_embedder, None)


async def search(client: httpx.AsyncClient, agent: TestAgent, **body: Any) -> dict[str, Any]:
    response = await client.post(SEARCH, json=body, headers=agent.auth_headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def ids(result: dict[str, Any]) -> list[str]:
    return [item["id"] for item in result["results"]]


NOTES = {
    "heron": "The grey heron stands motionless in the shallow water, waiting for fish.",
    "bread": "Sourdough bread needs a mature starter, flour, water and a long cold proof.",
    "rust": "The Rust borrow checker rejects two mutable references to the same value.",
    "tides": "Spring tides happen when the sun and the moon line up with the earth.",
    "chess": "In the Sicilian defence black answers e4 with c5 to fight for the centre.",
}


@pytest.fixture
async def alice_notes(
    client: httpx.AsyncClient, factories: Factories
) -> tuple[TestAgent, str, dict[str, dict[str, Any]]]:
    alice = await factories.agent()
    diary_id = await create_diary(client, alice)
    entries = {
        name: await create_entry(client, alice, diary_id, content=content, tags=[name])
        for name, content in NOTES.items()
    }
    return alice, diary_id, entries


async def test_hybrid_search_finds_the_relevant_entry_first(
    client: httpx.AsyncClient, alice_notes: tuple[TestAgent, str, dict[str, dict[str, Any]]]
) -> None:
    alice, diary_id, entries = alice_notes
    result = await search(client, alice, diaryId=diary_id, query="bird fishing in a pond")
    assert result["searchType"] == "hybrid"
    assert ids(result)[0] == entries["heron"]["id"]
    assert result["total"] == len(NOTES)  # every entry has a vector
    first = result["results"][0]
    assert set(first) >= {"id", "content", "author", "score", "accessCount"}
    assert "embedding" not in first
    assert "embeddingModel" not in first


async def test_search_scores_match_the_ranking_reference(
    client: httpx.AsyncClient,
    session: AsyncSession,
    embedder: OnnxEmbedder,
    alice_notes: tuple[TestAgent, str, dict[str, dict[str, Any]]],
) -> None:
    """Recompute both legs outside the search SQL and fuse them with services/ranking.py."""
    alice, diary_id, entries = alice_notes
    query = "water"
    result = await search(
        client, alice, diaryId=diary_id, query=query, limit=3, wRecency=0.5, wImportance=0.3
    )
    assert result["searchType"] == "hybrid"
    candidates = 2 * 3
    by_id = {entry["id"]: entry for entry in entries.values()}
    passages = [
        passage_text(entry["title"], entry["content"], entry["tags"]) for entry in entries.values()
    ]
    vectors = np.array(await embedder.embed_passages(passages))
    query_vector = np.array(await embedder.embed_query(query))
    distances = 1 - vectors @ query_vector
    vector_order = sorted(
        zip(distances, [UUID(entry["id"]) for entry in entries.values()], strict=True),
        key=lambda pair: (pair[0], pair[1]),
    )
    vector_ids = [entry_id for _, entry_id in vector_order][:candidates]
    rows = await session.execute(
        text(
            "SELECT id FROM diary_entries WHERE diary_id = :diary AND search_vector @@ "
            "websearch_to_tsquery('english', :q) ORDER BY ts_rank(search_vector, "
            "websearch_to_tsquery('english', :q)) DESC, id LIMIT :n"
        ),
        {"diary": diary_id, "q": query, "n": candidates},
    )
    text_ids = [row[0] for row in rows]
    assert text_ids, "the full-text leg must match something for this check"
    fused = ranking.fuse_ranks(vector_ids, text_ids)
    now = datetime.now(UTC)
    expected = {
        str(entry_id): ranking.score(
            ranking.relevance_from_rrf(rrf),
            hours_since_access=ranking.hours_since(
                datetime.fromisoformat(by_id[str(entry_id)]["createdAt"]), now
            ),
            importance=by_id[str(entry_id)]["importance"],
            w_relevance=1.0,
            w_recency=0.5,
            w_importance=0.3,
        )
        for entry_id, rrf in fused.items()
    }
    returned = ids(result)
    assert len(returned) == 3
    for item in result["results"]:
        assert item["score"] == pytest.approx(expected[item["id"]], abs=1e-3)
    # The page holds the best-scoring entries, best first. Near-ties (float noise between
    # numpy and pgvector distances) may order either way, so compare with a tolerance.
    scores = [expected[entry_id] for entry_id in returned]
    assert all(earlier >= later - 1e-6 for earlier, later in itertools.pairwise(scores))
    left_out = [score for entry_id, score in expected.items() if entry_id not in returned]
    assert all(score <= min(scores) + 1e-6 for score in left_out)


async def test_fulltext_fallback_when_the_embedder_is_down(
    client: httpx.AsyncClient,
    down_embedder: None,
    alice_notes: tuple[TestAgent, str, dict[str, dict[str, Any]]],
) -> None:
    alice, diary_id, entries = alice_notes
    result = await search(client, alice, diaryId=diary_id, query="sourdough")
    assert result["searchType"] == "fulltext"
    assert ids(result) == [entries["bread"]["id"]]
    assert result["total"] == 1
    # rank 1 in the only leg: rrf 1/61, relevance half of the best possible
    assert result["results"][0]["score"] == pytest.approx(0.5)


async def test_entry_written_while_the_embedder_is_down_is_stored_and_queued(
    client: httpx.AsyncClient,
    session: AsyncSession,
    factories: Factories,
    down_embedder: None,
) -> None:
    alice = await factories.agent()
    diary_id = await create_diary(client, alice)
    entry = await create_entry(client, alice, diary_id, content="Kingfishers dive for minnows.")
    fetched = await client.get(f"/entries/{entry['id']}", headers=alice.auth_headers)
    assert fetched.status_code == 200
    row = (
        await session.execute(
            text("SELECT embedding IS NULL, embedding_model FROM diary_entries WHERE id = :id"),
            {"id": entry["id"]},
        )
    ).one()
    assert tuple(row) == (True, None)
    status = await session.scalar(
        text("SELECT status FROM dbos.workflow_status WHERE workflow_uuid = :id"),
        {"id": f"embedding:fill-entry:{entry['id']}:{entry['contentHash']}"},
    )
    assert status == "ENQUEUED"
    found = await search(client, alice, diaryId=diary_id, query="kingfishers")
    assert ids(found) == [entry["id"]]


async def test_filter_mode_lists_without_a_query(
    client: httpx.AsyncClient, alice_notes: tuple[TestAgent, str, dict[str, dict[str, Any]]]
) -> None:
    alice, diary_id, entries = alice_notes
    result = await search(client, alice, diaryId=diary_id, tags=["rust"])
    assert result["searchType"] == "filter"
    assert ids(result) == [entries["rust"]["id"]]
    assert result["total"] == 1
    assert result["results"][0]["score"] == 0
    everything = await search(client, alice, diaryId=diary_id, wImportance=1, limit=2, offset=1)
    assert everything["total"] == len(NOTES)
    assert len(everything["results"]) == 2
    assert everything["results"][0]["score"] == pytest.approx(0.5)


async def test_filters_apply_to_every_leg(
    client: httpx.AsyncClient, alice_notes: tuple[TestAgent, str, dict[str, dict[str, Any]]]
) -> None:
    alice, diary_id, entries = alice_notes
    query = "heron water fish"
    excluded = await search(client, alice, diaryId=diary_id, query=query, excludeTags=["heron"])
    assert entries["heron"]["id"] not in ids(excluded)
    assert excluded["total"] == len(NOTES) - 1
    only = await search(client, alice, diaryId=diary_id, query=query, tags=["tides"])
    assert ids(only) == [entries["tides"]["id"]]
    typed = await search(client, alice, diaryId=diary_id, query=query, entryTypes=["episodic"])
    assert typed["results"] == []
    assert typed["total"] == 0
    await client.patch(
        f"/entries/{entries['heron']['id']}",
        json={"supersededBy": entries["tides"]["id"]},
        headers=alice.auth_headers,
    )
    current = await search(client, alice, diaryId=diary_id, query=query, excludeSuperseded=True)
    assert entries["heron"]["id"] not in ids(current)


async def test_negated_terms_filter_the_vector_leg_too(
    client: httpx.AsyncClient, alice_notes: tuple[TestAgent, str, dict[str, dict[str, Any]]]
) -> None:
    alice, diary_id, entries = alice_notes
    result = await search(client, alice, diaryId=diary_id, query="water -heron")
    assert result["searchType"] == "hybrid"
    assert set(ids(result)) == {entries["bread"]["id"]}  # only the rows matching the tsquery
    assert result["total"] == 1


async def test_offset_pages_through_the_fused_order(
    client: httpx.AsyncClient, alice_notes: tuple[TestAgent, str, dict[str, dict[str, Any]]]
) -> None:
    alice, diary_id, _ = alice_notes
    full = ids(await search(client, alice, diaryId=diary_id, query="water", limit=5))
    pages = [
        ids(await search(client, alice, diaryId=diary_id, query="water", limit=2, offset=offset))
        for offset in (0, 2, 4)
    ]
    assert [entry_id for page in pages for entry_id in page] == full
    beyond = await search(client, alice, diaryId=diary_id, query="water", offset=50)
    assert beyond["results"] == []
    assert beyond["total"] == len(NOTES)


async def test_search_counts_access_after_showing_the_old_counters(
    client: httpx.AsyncClient, alice_notes: tuple[TestAgent, str, dict[str, dict[str, Any]]]
) -> None:
    alice, diary_id, entries = alice_notes
    first = await search(client, alice, diaryId=diary_id, query="sourdough", limit=1)
    assert first["results"][0]["accessCount"] == 0
    second = await search(client, alice, diaryId=diary_id, query="sourdough", limit=1)
    assert second["results"][0]["accessCount"] == 1
    listed = await client.get(f"/diaries/{diary_id}/entries?tags=bread", headers=alice.auth_headers)
    item = listed.json()["items"][0]
    assert item["accessCount"] == 2
    assert item["updatedAt"] == entries["bread"]["updatedAt"]


async def test_search_scope_covers_own_diaries_and_accepted_shares_only(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob = await factories.agent(), await factories.agent()
    private = await create_diary(client, alice)
    public = await create_diary(client, bob, visibility="public")
    moltnet = await create_diary(client, bob, visibility="moltnet")
    bobs_private = await create_diary(client, bob)
    mine = await create_entry(client, alice, private, content="otters hold hands while asleep")
    for diary in (public, moltnet, bobs_private):
        await create_entry(client, bob, diary, content="otters hold hands while asleep")
    result = await search(client, alice, query="otters")
    assert ids(result) == [mine["id"]]
    assert result["total"] == 1
    # a readable diary by id works; a private one of someone else is 404
    by_id = await search(client, alice, diaryId=public, query="otters")
    assert len(by_id["results"]) == 1
    assert (await search(client, alice, diaryId=moltnet, query="otters"))["total"] == 1
    hidden = await client.post(
        SEARCH, json={"diaryId": bobs_private, "query": "otters"}, headers=alice.auth_headers
    )
    assert_problem(hidden, 404, "not-found")
    missing = await client.post(SEARCH, json={"diaryId": str(uuid4())}, headers=alice.auth_headers)
    assert_problem(missing, 404, "not-found")
    # an accepted share counts only with includeShared
    invite = await client.post(
        f"/diaries/{bobs_private}/share",
        json={"fingerprint": alice.fingerprint},
        headers=bob.auth_headers,
    )
    assert invite.status_code == 201, invite.text
    accepted = await client.post(
        f"/diaries/invitations/{invite.json()['id']}/accept", headers=alice.auth_headers
    )
    assert accepted.status_code == 200, accepted.text
    assert (await search(client, alice, query="otters"))["total"] == 1
    assert (await search(client, alice, query="otters", includeShared=True))["total"] == 2


async def test_vectors_of_another_model_are_refused(
    client: httpx.AsyncClient,
    session: AsyncSession,
    alice_notes: tuple[TestAgent, str, dict[str, dict[str, Any]]],
) -> None:
    alice, diary_id, entries = alice_notes
    await session.execute(
        text(
            "UPDATE diary_entries SET embedding_model = 'e5-small-v2@000000000000' WHERE id = :id"
        ),
        {"id": entries["chess"]["id"]},
    )
    response = await client.post(
        SEARCH, json={"diaryId": diary_id, "query": "chess"}, headers=alice.auth_headers
    )
    body = assert_problem(response, 503, "service-unavailable")
    assert "e5-small-v2@000000000000" in body["detail"]
    assert "re-embed" in body["detail"]
    # filter mode compares no vectors and still works
    assert (await search(client, alice, diaryId=diary_id))["total"] == len(NOTES)


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced quote',
        "-",
        "- - -",
        "OR",
        "a OR OR b",
        "'; DROP TABLE diary_entries; --",
        "\\x00 \\ % _ * ( ) & | ! : <->",
        "the",  # a stop word: empty tsquery
        "emoji 🦩 and 中文",
        "x" * 500,
    ],
)
async def test_websearch_syntax_abuse_is_harmless(
    client: httpx.AsyncClient,
    alice_notes: tuple[TestAgent, str, dict[str, dict[str, Any]]],
    query: str,
) -> None:
    alice, diary_id, _ = alice_notes
    result = await search(client, alice, diaryId=diary_id, query=query)
    assert result["searchType"] == "hybrid"
    assert result["total"] >= 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": ""}, "body.query"),
        ({"query": "   "}, "body.query"),
        ({"query": "x" * 501}, "body.query"),
        ({"query": "nul\u0000"}, "body.query"),
        ({"query": 5}, "body.query"),
        ({"diaryId": "nope"}, "body.diaryId"),
        ({"tags": []}, "body.tags"),
        ({"tags": [f"t{i}" for i in range(21)]}, "body.tags"),
        ({"excludeTags": ["x" * 51]}, "body.excludeTags.0"),
        ({"entryTypes": ["dream"]}, "body.entryTypes.0"),
        ({"entryTypes": []}, "body.entryTypes"),
        ({"limit": 0}, "body.limit"),
        ({"limit": 101}, "body.limit"),
        ({"offset": -1}, "body.offset"),
        ({"offset": 10**30}, "body.offset"),
        ({"wRecency": 1.5}, "body.wRecency"),
        ({"wImportance": "1"}, "body.wImportance"),
        ({"includeShared": "true"}, "body.includeShared"),
        ({"sort": "asc"}, "body.sort"),
    ],
)
async def test_search_rejects_hostile_bodies(
    client: httpx.AsyncClient, factories: Factories, body: dict[str, Any], field: str
) -> None:
    alice = await factories.agent()
    response = await client.post(SEARCH, json=body, headers=alice.auth_headers)
    assert_problem(response, 400, "validation-failed", field)


async def test_search_needs_a_token_with_diary_read(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    writer = await factories.agent(scopes=["diary:write"])
    assert_problem(await client.post(SEARCH, json={}), 401, "unauthorized")
    assert_problem(
        await client.post(SEARCH, json={}, headers=writer.auth_headers), 403, "insufficient-scope"
    )


# --- a labelled retrieval check through the API ---------------------------------------------

LABELLED = [
    ("How do I keep my sourdough starter alive?",
     "Feed the sourdough starter daily with equal weights of flour and water."),
    ("Which database index helps vector similarity?",
     "An HNSW index speeds up approximate nearest neighbour search over embeddings."),
    ("What did I learn about the user's coffee preference?",
     "The user drinks their espresso without sugar and dislikes milk."),
    ("When is the team meeting?",
     "The weekly team sync happens every Tuesday at 10am in room 4."),
    ("How to deploy the service to production?",
     "Deploy with fly deploy after running the database migrations."),
    ("What is my favourite colour?",
     "I have always liked deep ocean blue more than any other colour."),
    ("Tips for sleeping better",
     "Avoid screens an hour before bed and keep the bedroom cool and dark."),
    ("Which programming language has a borrow checker?",
     "Rust enforces memory safety at compile time through ownership and borrowing."),
    ("How did the hiking trip go?",
     "We climbed the mountain trail for six hours and camped by the lake."),
    ("What are the symptoms of a cold?",
     "A runny nose, sore throat and sneezing usually mean a common cold."),
    ("How do I rotate my API credentials?",
     "Call the rotate secret endpoint to get a fresh client secret."),
    ("What should I buy at the grocery store?",
     "Shopping list: eggs, tomatoes, rice, olive oil and bananas."),
]  # fmt: skip


async def test_labelled_queries_find_their_passage_first(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice = await factories.agent()
    diary_id = await create_diary(client, alice)
    expected = {}
    for query, passage in LABELLED:
        entry = await create_entry(client, alice, diary_id, content=passage)
        expected[query] = entry["id"]
    hits = 0
    for query, _ in LABELLED:
        result = await search(client, alice, diaryId=diary_id, query=query, limit=1)
        hits += ids(result) == [expected[query]]
    accuracy = hits / len(LABELLED)
    print(f"labelled retrieval through POST /diaries/search: top-1 {hits}/{len(LABELLED)}")
    assert accuracy >= 0.9
