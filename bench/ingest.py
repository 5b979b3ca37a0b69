"""Entry ingest rate: ``POST /diaries/{id}/entries`` with the real embedder, on this machine.

Runs the real app in process (embedded Postgres, httpx over ASGI, int8 MiniLM) and
measures entries/s and the latency of one create (CID, injection scan, embedding,
insert, two workflow enqueues in the same transaction), one at a time and with
``--concurrency`` requests in flight, for short and long entries. Also measures the
embedding alone for the same texts, so the share of the model in a create is visible.
Saves ``bench/results/ingest.json``.

    uv run python bench/ingest.py [--entries 200] [--concurrency 4]
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from asgi_lifespan import LifespanManager
from figures import percentile  # bench/figures.py; scripts run from bench/

from moltnet.backends.embedded.tokens import mint_access_token
from moltnet.config import Environment, RateLimitSettings, Settings
from moltnet.crypto import generate_key_pair
from moltnet.db.models import AgentKey
from moltnet.embedding.protocol import Embedder, passage_text
from moltnet.main import create_app
from moltnet.schemas.enums import ALL_SCOPES

RESULTS = Path(__file__).parent / "results" / "ingest.json"
BASE_URL = "http://bench"
WORDS = [
    "agent",
    "remembers",
    "the",
    "user",
    "prefers",
    "concise",
    "answers",
    "and",
    "dislikes",
    "long",
    "preambles",
    "when",
    "debugging",
    "the",
    "deployment",
    "pipeline",
    "on",
    "friday",
    "afternoons",
    "before",
    "the",
    "release",
    "train",
    "leaves",
]


def content(index: int, words: int) -> str:
    return " ".join(WORDS[(index + position) % len(WORDS)] for position in range(words)) + (
        f" ({index})"
    )


async def run(entries: int, concurrency: int) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="mnbi-"))
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
            embedder: Embedder = state["embedder"]
            keys = generate_key_pair()
            agent_id = uuid4()
            async with state["sessionmaker"].begin() as session:
                session.add(
                    AgentKey(
                        identity_id=agent_id,
                        public_key=keys.public_key.text,
                        fingerprint=keys.public_key.fingerprint,
                    )
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
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
                diary = await client.post("/diaries", json={"name": "bench"}, headers=headers)
                assert diary.status_code == 201, diary.text
                url = f"/diaries/{diary.json()['id']}/entries"
                counter = 0

                async def create(words: int) -> float:
                    nonlocal counter
                    counter += 1
                    body = {"content": content(counter, words), "tags": ["bench", "ingest"]}
                    started = time.perf_counter()
                    response = await client.post(url, json=body, headers=headers)
                    assert response.status_code == 201, response.text
                    return (time.perf_counter() - started) * 1000

                for shape, words in (("short_20w", 20), ("long_250w", 250)):
                    for _ in range(5):
                        await create(words)  # warm up
                    sequential = [await create(words) for _ in range(entries)]
                    embed_ms: list[float] = []
                    for index in range(min(entries, 100)):
                        text = passage_text(None, content(index, words), ["bench", "ingest"])
                        started = time.perf_counter()
                        await embedder.embed_passages([text])
                        embed_ms.append((time.perf_counter() - started) * 1000)

                    started = time.perf_counter()
                    remaining = entries

                    async def worker(words: int = words) -> None:
                        nonlocal remaining
                        while remaining > 0:
                            remaining -= 1
                            await create(words)

                    await asyncio.gather(*(worker() for _ in range(concurrency)))
                    concurrent_seconds = time.perf_counter() - started
                    results[shape] = {
                        "create_latency_ms": {
                            "p50": round(statistics.median(sequential), 2),
                            "p95": round(percentile(sequential, 0.95), 2),
                            "samples": entries,
                        },
                        "embedding_alone_ms": {
                            "p50": round(statistics.median(embed_ms), 2),
                            "p95": round(percentile(embed_ms, 0.95), 2),
                        },
                        "sequential_entries_per_second": round(
                            entries / (sum(sequential) / 1000), 1
                        ),
                        "concurrent": {
                            "concurrency": concurrency,
                            "entries_per_second": round(entries / concurrent_seconds, 1),
                        },
                    }
                    print(json.dumps({shape: results[shape]}, indent=2), flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    arguments = parser.parse_args()
    figures = asyncio.run(run(arguments.entries, arguments.concurrency))
    result = {
        "benchmark": "entry create with embedding (POST /diaries/{id}/entries)",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "setup": "in-process app over ASGI, embedded Postgres, int8 MiniLM embedder, "
        "DBOS client-only (the enqueues are written, workers not running)",
        **figures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
