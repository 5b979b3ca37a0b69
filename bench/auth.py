"""Token issue and authenticated requests on this machine (embedded OAuth2 issuer).

Runs the real app in process (embedded Postgres, httpx over ASGI) and measures:

* ``POST /oauth2/token`` (client_credentials, ``client_secret_post``): latency p50/p95
  one request at a time, and requests/s with ``--concurrency`` requests in flight;
* ``GET /agents/whoami`` with a bearer token (JWT verification + one row read): the same.

Saves the figures to ``bench/results/auth.json``.

    uv run python bench/auth.py [--samples 300] [--concurrency 8] [--seconds 5]
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
from uuid import uuid4

import httpx
from asgi_lifespan import LifespanManager
from figures import percentile  # bench/figures.py; scripts run from bench/

from moltnet.config import Environment, RateLimitSettings, Settings
from moltnet.crypto import generate_key_pair
from moltnet.db.models import AgentKey
from moltnet.main import create_app
from moltnet.schemas.enums import ALL_SCOPES

RESULTS = Path(__file__).parent / "results" / "auth.json"
BASE_URL = "http://bench"

Call = Callable[[], Awaitable[None]]


async def measure(
    call: Call, *, samples: int, concurrency: int, seconds: float
) -> dict[str, object]:
    for _ in range(10):
        await call()  # warm up
    latencies_ms: list[float] = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        latencies_ms.append((time.perf_counter() - started) * 1000)

    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "latency_ms": {
            "p50": round(statistics.median(latencies_ms), 2),
            "p95": round(percentile(latencies_ms, 0.95), 2),
            "samples": samples,
        },
        "throughput": {
            "concurrency": concurrency,
            "seconds": round(elapsed, 2),
            "requests": done,
            "requests_per_second": round(done / elapsed, 1),
        },
    }


async def run(samples: int, concurrency: int, seconds: float) -> dict[str, object]:
    home = Path(tempfile.mkdtemp(prefix="mnba-"))  # short: the socket lives in pgdata
    settings = Settings.model_validate(
        {
            "environment": Environment.test,
            "moltnet_home": home,
            "public_base_url": BASE_URL,
            # every bucket off: the bench measures authentication, not the limiter
            "rate_limit": {
                name: 0
                for name, field in RateLimitSettings.model_fields.items()
                if field.annotation is int
            },
        }
    )
    app = create_app(settings, launch_workflows=False, own_database_server=True)
    try:
        async with LifespanManager(app, startup_timeout=120) as manager:
            state = manager._state  # the AppState the lifespan yielded
            keys = generate_key_pair()
            identity_id = uuid4()
            async with state["sessionmaker"].begin() as session:
                session.add(
                    AgentKey(
                        identity_id=identity_id,
                        public_key=keys.public_key.text,
                        fingerprint=keys.public_key.fingerprint,
                    )
                )
            credentials = await state["oauth2"].create_client(
                identity_id=identity_id,
                public_key=keys.public_key.text,
                fingerprint=keys.public_key.fingerprint,
                scopes=ALL_SCOPES,
            )
            form = {
                "grant_type": "client_credentials",
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
            }
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
                first = await client.post("/oauth2/token", data=form)
                assert first.status_code == 200, first.text
                headers = {"Authorization": f"Bearer {first.json()['access_token']}"}

                async def issue_token() -> None:
                    response = await client.post("/oauth2/token", data=form)
                    assert response.status_code == 200, response.text

                async def whoami() -> None:
                    response = await client.get("/agents/whoami", headers=headers)
                    assert response.status_code == 200, response.text

                token_figures = await measure(
                    issue_token, samples=samples, concurrency=concurrency, seconds=seconds
                )
                whoami_figures = await measure(
                    whoami, samples=samples, concurrency=concurrency, seconds=seconds
                )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {"token_issue": token_figures, "authenticated_whoami": whoami_figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    arguments = parser.parse_args()
    figures = asyncio.run(run(arguments.samples, arguments.concurrency, arguments.seconds))
    result = {
        "benchmark": "token issue (POST /oauth2/token) and authenticated GET /agents/whoami",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "setup": "in-process app over ASGI, embedded Postgres, embedded OAuth2 issuer",
        **figures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
