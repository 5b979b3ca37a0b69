"""Signing round trip on this machine: create → sign locally → submit → completed.

Runs the real app in process (embedded Postgres, DBOS launched, httpx over ASGI) and
measures, as an agent sees it:

* round-trip latency p50/p95, one request at a time (``POST`` create, local Ed25519
  signature, ``POST /sign`` that returns once the workflow has verified it);
* sustainable round trips per second with ``--agents`` agents working concurrently
  (each keeps one request in flight, well under the pending cap of 10).

Saves the figures to ``bench/results/signing.json``.

    uv run python bench/signing.py [--samples 100] [--agents 8] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx
from agents import register_agent  # bench/agents.py
from asgi_lifespan import LifespanManager
from figures import percentile  # bench/figures.py; scripts run from bench/
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.backends.embedded.tokens import SigningKeySet
from moltnet.config import Environment, RateLimitSettings, Settings
from moltnet.crypto import KeyPair, encode_signature, sign
from moltnet.main import create_app
from moltnet.telemetry import configure_logging

RESULTS = Path(__file__).parent / "results" / "signing.json"
BASE_URL = "http://bench"


class BenchAgent:
    def __init__(self, keys: KeyPair, token: str) -> None:
        self.keys = keys
        self.headers = {"Authorization": f"Bearer {token}"}

    async def round_trip(self, client: httpx.AsyncClient) -> None:
        created = await client.post(
            "/crypto/signing-requests",
            json={"message": "bench " + uuid4().hex},
            headers=self.headers,
        )
        assert created.status_code == 201, created.text
        request = created.json()
        signature = sign(self.keys.seed, base64.b64decode(request["signingInput"]))
        signed = await client.post(
            f"/crypto/signing-requests/{request['id']}/sign",
            json={"signature": encode_signature(signature)},
            headers=self.headers,
        )
        assert signed.status_code == 200, signed.text
        assert signed.json()["valid"] is True, signed.text


async def register(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, signing_keys: SigningKeySet
) -> BenchAgent:
    return BenchAgent(*await register_agent(sessionmaker, settings, signing_keys))


async def run(samples: int, agents: int, seconds: float) -> dict[str, object]:
    home = Path(tempfile.mkdtemp(prefix="mnbench-"))  # short: the socket lives in pgdata
    settings = Settings.model_validate(
        {
            "environment": Environment.test,
            "moltnet_home": home,
            "public_base_url": BASE_URL,
            # every bucket off: the bench measures the workflow, not the limiter
            "rate_limit": {
                name: 0
                for name, field in RateLimitSettings.model_fields.items()
                if field.annotation is int
            },
        }
    )
    configure_logging("WARNING", "console")  # one info line per request would drown the figures
    app = create_app(settings, launch_workflows=True, own_database_server=True)
    try:
        async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
            state = manager._state  # the AppState the lifespan yielded
            sessionmaker = state["sessionmaker"]
            signing_keys = state["signing_keys"]  # the keys the app verifies with
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
                solo = await register(sessionmaker, settings, signing_keys)
                for _ in range(5):
                    await solo.round_trip(client)  # warm up
                latencies_ms: list[float] = []
                for _ in range(samples):
                    started = time.perf_counter()
                    await solo.round_trip(client)
                    latencies_ms.append((time.perf_counter() - started) * 1000)

                crowd = [
                    await register(sessionmaker, settings, signing_keys) for _ in range(agents)
                ]
                done = 0
                deadline = time.perf_counter() + seconds

                async def work(agent: BenchAgent) -> None:
                    nonlocal done
                    while time.perf_counter() < deadline:
                        await agent.round_trip(client)
                        done += 1

                started = time.perf_counter()
                await asyncio.gather(*(work(agent) for agent in crowd))
                elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {
        "round_trip_ms": {
            "p50": round(statistics.median(latencies_ms), 2),
            "p95": round(percentile(latencies_ms, 0.95), 2),
            "samples": samples,
        },
        "sustained": {
            "agents": agents,
            "seconds": round(elapsed, 2),
            "round_trips": done,
            "round_trips_per_second": round(done / elapsed, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    arguments = parser.parse_args()
    figures = asyncio.run(run(arguments.samples, arguments.agents, arguments.seconds))
    result = {
        "benchmark": "signing round trip (create, sign locally, submit, completed)",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "setup": "in-process app over ASGI, embedded Postgres, DBOS launched",
        **figures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
