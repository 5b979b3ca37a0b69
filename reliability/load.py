# ruff: noqa: S101, S311, SIM117 - scripts: asserts are checks, seeded RNGs, fixed commands
"""Load: ≥ 100 concurrent agents against a ``moltnet serve`` subprocess (loopback only),
bounded in time and in requests, doing a realistic mix: token, create entries, search,
read, share (+ accept) and sign.

    uv run python -m reliability.load [--agents 100] [--seconds 60] [--max-requests 200000]

Writes docs/reliability/load.json and docs/reliability/load.png: throughput, p50/p95/p99 per
operation, error count, Postgres connections (pg_stat_activity) and server RSS (psutil).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import psutil
from tests.fixtures.server import ServerProcess

from moltnet.crypto import sign
from reliability.harness import DOCS, Agent, genesis, register, sql, standalone_server, token

WEIGHTS = {
    "create_entry": 25,
    "search": 20,
    "read_entry": 25,
    "list_entries": 10,
    "share": 5,
    "sign": 10,
    "token": 5,
}


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Driver:
    def __init__(self, client: httpx.AsyncClient, deadline: float, max_requests: int) -> None:
        self.client = client
        self.deadline = deadline
        self.max_requests = max_requests
        self.requests = 0
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.agents: list[Agent] = []

    def running(self) -> bool:
        return time.monotonic() < self.deadline and self.requests < self.max_requests

    async def call(self, operation: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.requests += 1
        started = time.perf_counter()
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.TransportError as error:
            # the server dropped the connection: an error of the run, not of the driver
            self.errors[f"{operation} {type(error).__name__}"] += 1
            return httpx.Response(599)
        self.latencies[operation].append((time.perf_counter() - started) * 1000)
        expected = operation == "share" and response.status_code == 409  # already invited
        if response.status_code >= 400 and not expected:
            self.errors[f"{operation} {response.status_code}"] += 1
        return response

    async def agent_loop(self, agent: Agent, rng: random.Random) -> None:
        created = await self.call(
            "create_diary", "POST", "/diaries", json={"name": "load"}, headers=agent.headers
        )
        diary_id = created.json()["id"]
        entries: list[str] = []
        operations, weights = zip(*WEIGHTS.items(), strict=True)
        while self.running():
            operation = rng.choices(operations, weights)[0]
            if operation == "create_entry" or not entries:
                response = await self.call(
                    "create_entry",
                    "POST",
                    f"/diaries/{diary_id}/entries",
                    json={
                        "content": f"observation {rng.random()} about agents and memory",
                        "tags": [rng.choice(["alpha", "beta", "gamma"])],
                    },
                    headers=agent.headers,
                )
                if response.status_code == 201:
                    entries.append(response.json()["id"])
            elif operation == "search":
                await self.call(
                    "search",
                    "POST",
                    "/diaries/search",
                    json={"query": rng.choice(["agents memory", "observation", "alpha -beta"])},
                    headers=agent.headers,
                )
            elif operation == "read_entry":
                await self.call(
                    "read_entry", "GET", f"/entries/{rng.choice(entries)}", headers=agent.headers
                )
            elif operation == "list_entries":
                await self.call(
                    "list_entries", "GET", f"/diaries/{diary_id}/entries", headers=agent.headers
                )
            elif operation == "share":
                other = rng.choice(self.agents)
                if other is agent:
                    continue
                shared = await self.call(
                    "share",
                    "POST",
                    f"/diaries/{diary_id}/share",
                    json={"fingerprint": other.fingerprint},
                    headers=agent.headers,
                )
                if shared.status_code == 201:
                    await self.call(
                        "accept",
                        "POST",
                        f"/diaries/invitations/{shared.json()['id']}/accept",
                        headers=other.headers,
                    )
            elif operation == "sign":
                request = await self.call(
                    "create_signing",
                    "POST",
                    "/crypto/signing-requests",
                    json={"message": "load"},
                    headers=agent.headers,
                )
                if request.status_code == 201:
                    body = request.json()
                    signature = sign(agent.keys.seed, base64.b64decode(body["signingInput"]))
                    await self.call(
                        "sign",
                        "POST",
                        f"/crypto/signing-requests/{body['id']}/sign",
                        json={"signature": base64.b64encode(signature).decode()},
                        headers=agent.headers,
                    )
            elif operation == "token":
                await self.call(
                    "token",
                    "POST",
                    "/oauth2/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": agent.client_id,
                        "client_secret": agent.client_secret,
                    },
                )


def server_rss(server: ServerProcess) -> int:
    assert server.process is not None
    root = psutil.Process(server.process.pid)
    return sum(process.memory_info().rss for process in [root, *root.children(recursive=True)])


async def sample(server: ServerProcess, driver: Driver, samples: list[dict[str, float]]) -> None:
    assert server.database_url is not None
    started = time.monotonic()
    last = 0
    while driver.running():
        await asyncio.sleep(1.0)
        (connections,) = await asyncio.to_thread(
            sql,
            server.database_url,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()",
        )
        samples.append(
            {
                "t": round(time.monotonic() - started, 1),
                "rps": driver.requests - last,
                "pg_connections": int(connections[0]),
                "rss_mib": round(server_rss(server) / 2**20, 1),
            }
        )
        last = driver.requests


async def run_load(
    server: ServerProcess, *, agents: int, seconds: float, max_requests: int, seed: int = 3
) -> dict[str, Any]:
    genesis_agent, vouchers = genesis(server, vouchers=agents)
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        pool = [token(client, genesis_agent)]
        for code in vouchers[: agents - 1]:
            pool.append(token(client, register(client, code)))
    limits = httpx.Limits(max_connections=agents + 10, max_keepalive_connections=agents + 10)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as client:
        driver = Driver(client, time.monotonic() + seconds, max_requests)
        driver.agents = pool
        samples: list[dict[str, float]] = []
        started = time.monotonic()
        rng = random.Random(seed)
        await asyncio.gather(
            sample(server, driver, samples),
            *(driver.agent_loop(agent, random.Random(rng.random())) for agent in pool),
        )
        elapsed = time.monotonic() - started
    operations = {
        name: {
            "count": len(values),
            "p50_ms": round(percentile(values, 0.50), 1),
            "p95_ms": round(percentile(values, 0.95), 1),
            "p99_ms": round(percentile(values, 0.99), 1),
            "mean_ms": round(statistics.fmean(values), 1),
        }
        for name, values in sorted(driver.latencies.items())
    }
    return {
        "agents": len(pool),
        "seconds": round(elapsed, 1),
        "requests": driver.requests,
        "throughput_rps": round(driver.requests / elapsed, 1),
        "errors": dict(driver.errors),
        "error_count": sum(driver.errors.values()),
        "operations": operations,
        "pg_connections_max": max((s["pg_connections"] for s in samples), default=0),
        "rss_mib_max": max((s["rss_mib"] for s in samples), default=0),
        "samples": samples,
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, timeline) = plt.subplots(1, 2, figsize=(13, 4.5))
    names = list(result["operations"])
    positions = range(len(names))
    for offset, key in ((-0.25, "p50_ms"), (0.0, "p95_ms"), (0.25, "p99_ms")):
        latency.bar(
            [p + offset for p in positions],
            [result["operations"][n][key] for n in names],
            width=0.25,
            label=key.removesuffix("_ms"),
        )
    latency.set_xticks(list(positions), names, rotation=30, ha="right")
    latency.set_ylabel("latency (ms)")
    latency.set_title(f"{result['agents']} agents, {result['throughput_rps']} req/s")
    latency.legend()
    samples = result["samples"]
    times = [s["t"] for s in samples]
    timeline.plot(times, [s["rps"] for s in samples], label="requests/s")
    timeline.plot(times, [s["pg_connections"] for s in samples], label="Postgres connections")
    timeline.set_xlabel("seconds")
    axis = timeline.twinx()
    axis.plot(times, [s["rss_mib"] for s in samples], color="tab:red", label="server RSS (MiB)")
    axis.set_ylabel("RSS (MiB)")
    timeline.legend(loc="upper left")
    axis.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=DOCS / "reliability" / "load.json")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="moltnet-load-") as home:
        with standalone_server(Path(home)) as server:
            result = asyncio.run(
                run_load(
                    server, agents=args.agents, seconds=args.seconds, max_requests=args.max_requests
                )
            )
    args.out.write_text(json.dumps(result, indent=2))
    plot(result, args.out.with_suffix(".png"))
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
