"""Embedder latency and throughput on this machine.

Prints p50/p95 of a single ``embed_query`` and passages/s for batched
``embed_passages``, and saves them to ``bench/results/embed.json``.

    uv run python bench/embed.py [--threads 1] [--queries 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path

from figures import percentile  # bench/figures.py; scripts run from bench/

from moltnet.embedding.onnx import OnnxEmbedder

RESULTS = Path(__file__).parent / "results" / "embed.json"

PASSAGE_SHAPES = {
    # name: (words per passage, passages per call)
    "short_12w": (12, 64),
    "medium_60w": (60, 32),
    "long_300w": (300, 8),
}


def passage(index: int, words: int) -> str:
    vocabulary = [
        "agent",
        "diary",
        "memory",
        "signed",
        "entry",
        "search",
        "vector",
        "key",
        "rotate",
        "deploy",
        "note",
    ]
    return " ".join(
        vocabulary[(index * 7 + position) % len(vocabulary)] for position in range(words)
    )


async def measure(embedder: OnnxEmbedder, queries: int) -> dict[str, object]:
    await embedder.embed_query("warm up")
    latencies_ms: list[float] = []
    for index in range(queries):
        started = time.perf_counter()
        await embedder.embed_query(f"what did I note about key rotation {index}")
        latencies_ms.append((time.perf_counter() - started) * 1000)
    throughput: dict[str, float] = {}
    for name, (words, count) in PASSAGE_SHAPES.items():
        texts = [passage(index, words) for index in range(count)]
        await embedder.embed_passages(texts[:2])
        rounds = 3
        started = time.perf_counter()
        for _ in range(rounds):
            await embedder.embed_passages(texts)
        throughput[name] = round(rounds * count / (time.perf_counter() - started), 1)
    return {
        "query_latency_ms": {
            "p50": round(statistics.median(latencies_ms), 2),
            "p95": round(percentile(latencies_ms, 0.95), 2),
            "samples": queries,
        },
        "passages_per_second": throughput,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--queries", type=int, default=200, help="single-query samples")
    arguments = parser.parse_args()
    started = time.perf_counter()
    embedder = OnnxEmbedder.from_default(threads=arguments.threads)
    load_seconds = time.perf_counter() - started
    results = asyncio.run(measure(embedder, arguments.queries))
    report = {
        "model_id": embedder.model_id,
        "threads": arguments.threads,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "load_seconds": round(load_seconds, 3),
        **results,
    }
    print(json.dumps(report, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
