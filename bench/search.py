"""Hybrid search latency at 10 k and 100 k entries, and exact vs iterative vector scan.

Runs the real app in process (embedded Postgres, httpx over ASGI, the real embedder)
and, for each table size, prints p50/p95 of:

* the query embedding alone (``embed_query``),
* the search SQL alone (one round trip, query vector computed beforehand),
* the whole ``POST /diaries/search`` (auth, embedding, SQL, access bump, JSON),

so the ratio of the endpoint to its floor is visible. Then, for a diary holding 1 % of
the table, it compares the vector leg as an exact scan over the diary's rows (what the
service does) with the global HNSW index alone and with pgvector's iterative index scan
(``hnsw.iterative_scan = relaxed_order``): recall@10 against the exact answer, latency.

Loading: 20 real passage embeddings are inserted first; every synthetic entry takes one
of them plus a little noise (computed in SQL), so the vectors have the clustered shape
of real ones; the HNSW index is dropped during the load and rebuilt after it. Saves ``bench/results/search.json``.

    uv run python bench/search.py [--sizes 10000,100000] [--samples 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
from asgi_lifespan import LifespanManager
from figures import percentile  # bench/figures.py; scripts run from bench/
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.backends.embedded.tokens import mint_access_token
from moltnet.config import Environment, RateLimitSettings, Settings
from moltnet.crypto import generate_key_pair
from moltnet.db.models import AgentKey, Diary, DiaryEntry
from moltnet.db.repositories import search as search_repository
from moltnet.db.repositories.entries import EntryRepository
from moltnet.db.repositories.search import SearchSpec
from moltnet.embedding.protocol import Embedder
from moltnet.main import create_app
from moltnet.schemas.enums import ALL_SCOPES
from moltnet.services.search import RANKING

RESULTS = Path(__file__).parent / "results" / "search.json"
BASE_URL = "http://bench"
FILLER_DIARIES = 99  # plus the target diary: the target holds 1 % of the rows

TOPICS = [
    "grey heron fishing in a shallow pond", "sourdough starter feeding schedule",
    "rust borrow checker and mutable references", "spring tides and the phase of the moon",
    "sicilian defence opening in chess", "deploying the service with database migrations",
    "rotating api credentials after a leak", "weekly team meeting notes and action items",
    "hiking trail along the mountain lake", "symptoms of the common cold",
    "grocery list with eggs rice and tomatoes", "espresso without sugar or milk",
    "vector index for nearest neighbour search", "sleeping better without screens at night",
    "user prefers short answers in the morning", "tax return deadline reminder",
    "garden tomatoes need staking in july", "learning the guitar chord progressions",
    "bug in the payment retry logic", "cat refuses the new food brand",
]  # fmt: skip
QUERIES = [
    "bird waiting for fish", "bread baking tips", "memory safety in systems languages",
    "moon and ocean", "chess openings", "how to ship to production", "leaked secret",
    "meeting action items", "walk in the mountains", "feeling sick", "what to buy",
    "coffee preferences", "similarity search index", "insomnia", "how the user likes replies",
    "taxes", "vegetable garden", "music practice", "payment failures", "pet food",
]  # fmt: skip


def summary(latencies_ms: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(latencies_ms), 2),
        "p95": round(percentile(latencies_ms, 0.95), 2),
        "samples": len(latencies_ms),
    }


async def timed(call: Callable[[int], Awaitable[Any]], samples: int) -> dict[str, float]:
    for index in range(5):
        await call(index)  # warm up
    latencies: list[float] = []
    for index in range(samples):
        started = time.perf_counter()
        await call(index)
        latencies.append((time.perf_counter() - started) * 1000)
    return summary(latencies)


async def load(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    start: int,
    stop: int,
    target: UUID,
    fillers: list[UUID],
    author: UUID,
    model_id: str,
) -> None:
    """Rows ``start..stop-1``: every 100th in the target diary, the rest spread over fillers."""
    statement = text(
        """
        INSERT INTO diary_entries (id, diary_id, author_id, title, content, tags, importance,
            entry_type, content_hash, embedding, embedding_model, injection_risk, access_count)
        SELECT gen_random_uuid(),
               CASE WHEN g % 100 = 0 THEN CAST(:target AS uuid)
                    ELSE (CAST(:fillers AS uuid[]))[1 + g % :filler_count] END,
               CAST(:author AS uuid),
               NULL,
               t.content || ' (note ' || g || ')',
               ARRAY['topic' || (g % 20), 'batch' || (g % 7)],
               1 + g % 10,
               'semantic',
               'bafkrei' || lpad(to_hex(g), 52, 'a'),
               t.embedding + (SELECT array_agg((random() - 0.5) * 0.04)::vector
                              FROM generate_series(1, 384) WHERE g >= 0),
               :model,
               false,
               0
        FROM generate_series(:start, :stop - 1) AS g
        JOIN bench_topics AS t ON t.position = g % 20
        """
    )
    step = 10_000
    for chunk_start in range(start, stop, step):
        async with sessionmaker.begin() as session:
            await session.execute(
                statement,
                {
                    "target": str(target),
                    "fillers": [str(filler) for filler in fillers],
                    "filler_count": len(fillers),
                    "author": str(author),
                    "model": model_id,
                    "start": chunk_start,
                    "stop": min(stop, chunk_start + step),
                },
            )
    async with sessionmaker() as session:
        await session.execute(text("ANALYZE diary_entries"))
        await session.commit()


HNSW_INDEX = "ix_diary_entries_embedding_hnsw"


async def drop_vector_index(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Bulk loads go faster into a table without the HNSW index; it is rebuilt after."""
    async with sessionmaker.begin() as session:
        await session.execute(text(f"DROP INDEX IF EXISTS {HNSW_INDEX}"))


async def build_vector_index(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """The same index as the migration (m=16, ef_construction=64)."""
    async with sessionmaker.begin() as session:
        await session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        await session.execute(
            text(
                f"CREATE INDEX {HNSW_INDEX} ON diary_entries USING hnsw "
                "(embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
            )
        )


async def vector_only_ids(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    target: UUID,
    vector: list[float],
    model_id: str,
    strategy: str,
) -> list[UUID]:
    """Top 10 of the vector leg alone, with the given scan strategy."""
    spec = SearchSpec(
        scope=DiaryEntry.diary_id == target,
        ranking=RANKING,
        vector=vector,
        model_id=model_id,
        limit=10,
        exact_vector_scan=strategy == "exact",
    )
    async with sessionmaker.begin() as session:
        if strategy != "exact":
            # Make the planner take the HNSW index for ORDER BY distance LIMIT n; left
            # alone it often prefers the diary's btree plus a sort, i.e. an exact scan.
            await session.execute(text("SET LOCAL enable_sort = off"))
        if strategy == "iterative":
            await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        page = await search_repository.search(session, spec)
    return [hit.entry.id for hit in page.hits]


async def run(sizes: list[int], samples: int) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="mnbs-"))
    settings = Settings.model_validate(
        {
            "environment": Environment.test,
            "moltnet_home": home,
            "public_base_url": BASE_URL,
            "rate_limit": {
                name: 0
                for name, field in RateLimitSettings.model_fields.items()
                if field.annotation is int
            },
        }
    )
    app = create_app(settings, launch_workflows=False, own_database_server=True)
    results: dict[str, Any] = {}
    try:
        async with LifespanManager(app, startup_timeout=120) as manager:
            state = manager._state
            sessionmaker: async_sessionmaker[AsyncSession] = state["sessionmaker"]
            embedder: Embedder = state["embedder"]
            keys = generate_key_pair()
            agent_id = uuid4()
            target, fillers = uuid4(), [uuid4() for _ in range(FILLER_DIARIES)]
            async with sessionmaker.begin() as session:
                session.add(
                    AgentKey(
                        identity_id=agent_id,
                        public_key=keys.public_key.text,
                        fingerprint=keys.public_key.fingerprint,
                    )
                )
                await session.flush()
                for diary_id in (target, *fillers):
                    session.add(Diary(id=diary_id, owner_id=agent_id, name="bench"))
                await session.execute(
                    text(
                        "CREATE TABLE bench_topics (position int PRIMARY KEY, content text, "
                        "embedding vector(384))"
                    )
                )
                vectors = await embedder.embed_passages(TOPICS)
                for position, (content, vector) in enumerate(zip(TOPICS, vectors, strict=True)):
                    await session.execute(
                        text("INSERT INTO bench_topics VALUES (:p, :c, CAST(:v AS vector))"),
                        {"p": position, "c": content, "v": str(vector)},
                    )
            token, _ = mint_access_token(
                state["signing_keys"],
                issuer=settings.issuer,
                audience=settings.issuer,
                client_id=str(uuid4()),
                scopes=ALL_SCOPES,
                identity_id=agent_id,
                public_key=keys.public_key.text,
                fingerprint=keys.public_key.fingerprint,
                ttl_seconds=3600,
                now=datetime.now(UTC),
            )
            headers = {"Authorization": f"Bearer {token}"}
            query_vectors = [await embedder.embed_query(query) for query in QUERIES]
            loaded = 0
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
                for size in sizes:
                    started = time.perf_counter()
                    await drop_vector_index(sessionmaker)
                    await load(
                        sessionmaker,
                        start=loaded,
                        stop=size,
                        target=target,
                        fillers=fillers,
                        author=agent_id,
                        model_id=embedder.model_id,
                    )
                    load_seconds = time.perf_counter() - started
                    started = time.perf_counter()
                    await build_vector_index(sessionmaker)
                    index_seconds = time.perf_counter() - started
                    loaded = size

                    async def embed_only(index: int) -> None:
                        await embedder.embed_query(QUERIES[index % len(QUERIES)])

                    async def sql_only(index: int) -> None:
                        spec = SearchSpec(
                            scope=DiaryEntry.diary_id == target,
                            ranking=RANKING,
                            query=QUERIES[index % len(QUERIES)],
                            vector=query_vectors[index % len(QUERIES)],
                            model_id=embedder.model_id,
                            limit=10,
                        )
                        async with sessionmaker.begin() as session:
                            await search_repository.search(session, spec)

                    async def endpoint(index: int) -> None:
                        body = {"diaryId": str(target), "query": QUERIES[index % len(QUERIES)]}
                        response = await client.post("/diaries/search", json=body, headers=headers)
                        assert response.status_code == 200, response.text
                        assert response.json()["searchType"] == "hybrid"

                    async def endpoint_all_diaries(index: int) -> None:
                        body = {"query": QUERIES[index % len(QUERIES)]}
                        response = await client.post("/diaries/search", json=body, headers=headers)
                        assert response.status_code == 200, response.text

                    bump_ms: list[float] = []

                    async def access_bump(index: int, bump_ms: list[float] = bump_ms) -> None:
                        async with sessionmaker.begin() as session:
                            page = await search_repository.search(
                                session,
                                SearchSpec(
                                    scope=DiaryEntry.diary_id == target,
                                    ranking=RANKING,
                                    limit=10,
                                    offset=index % 50,
                                ),
                            )
                            started = time.perf_counter()
                            await EntryRepository(session).count_access(
                                [hit.entry.id for hit in page.hits]
                            )
                            bump_ms.append((time.perf_counter() - started) * 1000)

                    await timed(access_bump, samples)
                    figures: dict[str, Any] = {
                        "rows": size,
                        "target_diary_rows": size // 100,
                        "load_seconds": round(load_seconds, 1),
                        "hnsw_build_seconds": round(index_seconds, 1),
                        "query_embedding_ms": await timed(embed_only, samples),
                        "search_sql_ms": await timed(sql_only, samples),
                        "post_diaries_search_ms": await timed(endpoint, samples),
                        "access_bump_of_10_hits_ms": summary(bump_ms[-samples:]),
                        "post_diaries_search_all_own_diaries_ms": await timed(
                            endpoint_all_diaries, max(10, samples // 4)
                        ),
                    }

                    scans: dict[str, Any] = {}
                    exact_answers: list[list[UUID]] = []
                    for strategy in ("exact", "hnsw", "iterative"):
                        answers: list[list[UUID]] = []

                        async def vector_leg(
                            index: int,
                            strategy: str = strategy,
                            answers: list[list[UUID]] = answers,
                        ) -> None:
                            answers.append(
                                await vector_only_ids(
                                    sessionmaker,
                                    target=target,
                                    vector=query_vectors[index % len(QUERIES)],
                                    model_id=embedder.model_id,
                                    strategy=strategy,
                                )
                            )

                        latency = await timed(vector_leg, len(QUERIES))
                        answers = answers[-len(QUERIES) :]  # the timed ones, query order
                        if strategy == "exact":
                            exact_answers = answers
                        found = sum(
                            len(set(answer) & set(truth))
                            for answer, truth in zip(answers, exact_answers, strict=True)
                        )
                        expected = sum(len(truth) for truth in exact_answers)
                        scans[strategy] = {
                            "latency_ms": latency,
                            "mean_results": round(
                                sum(len(answer) for answer in answers) / len(answers), 2
                            ),
                            "recall_at_10_vs_exact": round(found / expected, 3)
                            if expected
                            else None,
                        }
                    figures["vector_leg_in_1_percent_diary"] = scans
                    results[str(size)] = figures
                    print(json.dumps({str(size): figures}, indent=2), flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--samples", type=int, default=40)
    arguments = parser.parse_args()
    sizes = sorted(int(size) for size in arguments.sizes.split(","))
    started = time.perf_counter()
    figures = asyncio.run(run(sizes, arguments.samples))
    result = {
        "benchmark": "hybrid search: embedding vs SQL vs POST /diaries/search; vector scan choice",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "setup": "in-process app over ASGI, embedded Postgres + pgvector, int8 MiniLM embedder; "
        "search scoped to one diary holding 1 % of the rows, limit 10",
        "total_seconds": round(time.perf_counter() - started, 1),
        "sizes": figures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
