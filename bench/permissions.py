"""Permission checks and grant lag on this machine (embedded permission backend).

Runs the real app in process (embedded Postgres, DBOS launched, httpx over ASGI) and
measures:

* ``check_ms``: ``EmbeddedPermissionBackend.check`` latency, p50/p95, for an owner's
  ``Diary#read`` (first rule hits), a stranger's ``Diary#read`` (every rule misses)
  and ``DiaryEntry#view`` (traverses to the parent diary);
* ``read_ms``: ``GET /diaries/{id}`` of a private diary end to end, decided from the
  database facts (owner, accepted reader) and, for a stranger, by the backend (404);
* ``grant_lag_ms``: from the moment ``POST /diaries`` (owner tuple) or an invitation
  accept (reader tuple) returns until its tuple is visible in the backend: the window
  that ``services/authz.py`` covers by deciding from the rows first.

The choice it documents: authorization reads the authoritative rows (``diaries.owner_id``,
the caller's ``diary_shares`` row) before the backend, so the grant lag below never
shows to a client (read-your-writes), and a revocation denies at once.

Saves the figures to ``bench/results/permissions.json``.

    uv run python bench/permissions.py [--samples 200]
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
from agents import register_agent  # bench/agents.py
from asgi_lifespan import LifespanManager
from figures import percentile  # bench/figures.py; scripts run from bench/
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from moltnet.backends.embedded.permissions import EmbeddedPermissionBackend
from moltnet.backends.embedded.tokens import SigningKeySet
from moltnet.backends.protocols import RelationTuple, SubjectSet
from moltnet.config import Environment, RateLimitSettings, Settings
from moltnet.main import create_app
from moltnet.telemetry import configure_logging

RESULTS = Path(__file__).parent / "results" / "permissions.json"
BASE_URL = "http://bench"
POLL_SECONDS = 0.002


def summary(samples: list[float]) -> dict[str, float | int]:
    return {
        "p50": round(statistics.median(samples), 3),
        "p95": round(percentile(samples, 0.95), 3),
        "samples": len(samples),
    }


async def timed(samples: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    for _ in range(10):
        await call()  # warm up
    latencies: list[float] = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def register(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, signing_keys: SigningKeySet
) -> tuple[str, dict[str, str]]:
    keys, token = await register_agent(sessionmaker, settings, signing_keys)
    return keys.public_key.fingerprint, {"Authorization": f"Bearer {token}"}


async def wait_for_tuple(engine: AsyncEngine, relation_tuple: RelationTuple) -> float:
    """Milliseconds until the tuple is stored, polling every ``POLL_SECONDS``."""
    started = time.perf_counter()
    query = text(
        "SELECT 1 FROM embedded.relation_tuples WHERE namespace = :namespace "
        "AND object = :object AND relation = :relation AND subject_object = :subject"
    )
    params = {
        "namespace": relation_tuple.namespace,
        "object": relation_tuple.object,
        "relation": relation_tuple.relation,
        "subject": relation_tuple.subject.object,
    }
    while time.perf_counter() - started < 30:
        async with engine.connect() as connection:
            if (await connection.execute(query, params)).first() is not None:
                return (time.perf_counter() - started) * 1000
        await asyncio.sleep(POLL_SECONDS)
    raise RuntimeError(f"{relation_tuple} never landed")


async def run(samples: int) -> dict[str, object]:
    home = Path(tempfile.mkdtemp(prefix="mnbench-"))  # short: the socket lives in pgdata
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
    configure_logging("WARNING", "console")
    app = create_app(settings, launch_workflows=True, own_database_server=True)
    try:
        async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
            state = manager._state  # the AppState the lifespan yielded
            sessionmaker = state["sessionmaker"]
            signing_keys = state["signing_keys"]  # the keys the app verifies with
            engine = state["engine"]
            backend = EmbeddedPermissionBackend(sessionmaker)
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
                # --- raw backend checks
                diary, entry = str(uuid4()), str(uuid4())
                owner, stranger = (
                    SubjectSet("Agent", str(uuid4())),
                    SubjectSet("Agent", str(uuid4())),
                )
                await backend.write(
                    [
                        RelationTuple("Diary", diary, "owner", owner),
                        RelationTuple("DiaryEntry", entry, "parent", SubjectSet("Diary", diary)),
                    ]
                )
                check_ms = {
                    "owner_diary_read": summary(
                        await timed(samples, lambda: backend.check("Diary", diary, "read", owner))
                    ),
                    "stranger_diary_read_denied": summary(
                        await timed(
                            samples, lambda: backend.check("Diary", diary, "read", stranger)
                        )
                    ),
                    "owner_entry_view_via_parent": summary(
                        await timed(
                            samples, lambda: backend.check("DiaryEntry", entry, "view", owner)
                        )
                    ),
                }

                # --- reads through the API
                alice_fp, alice = await register(sessionmaker, settings, signing_keys)
                bob_fp, bob = await register(sessionmaker, settings, signing_keys)
                _, eve = await register(sessionmaker, settings, signing_keys)
                created = await client.post("/diaries", json={"name": "bench"}, headers=alice)
                diary_id = created.json()["id"]
                share = await client.post(
                    f"/diaries/{diary_id}/share", json={"fingerprint": bob_fp}, headers=alice
                )
                await client.post(f"/diaries/invitations/{share.json()['id']}/accept", headers=bob)

                async def read(headers: dict[str, str], status: int) -> None:
                    response = await client.get(f"/diaries/{diary_id}", headers=headers)
                    assert response.status_code == status, response.text

                read_ms = {
                    "owner_from_row": summary(await timed(samples, lambda: read(alice, 200))),
                    "accepted_reader_from_row": summary(
                        await timed(samples, lambda: read(bob, 200))
                    ),
                    "stranger_from_backend_404": summary(
                        await timed(samples, lambda: read(eve, 404))
                    ),
                }

                # --- grant visible after commit
                owner_lag: list[float] = []
                share_lag: list[float] = []
                lag_samples = max(20, samples // 5)
                for _ in range(lag_samples):
                    response = await client.post("/diaries", json={"name": "lag"}, headers=alice)
                    new_id = response.json()["id"]
                    owner_lag.append(
                        await wait_for_tuple(
                            engine,
                            RelationTuple(
                                "Diary",
                                new_id,
                                "owner",
                                SubjectSet("Agent", response.json()["ownerId"]),
                            ),
                        )
                    )
                    invited = await client.post(
                        f"/diaries/{new_id}/share", json={"fingerprint": bob_fp}, headers=alice
                    )
                    accepted = await client.post(
                        f"/diaries/invitations/{invited.json()['id']}/accept", headers=bob
                    )
                    share_lag.append(
                        await wait_for_tuple(
                            engine,
                            RelationTuple(
                                "Diary",
                                new_id,
                                "readers",
                                SubjectSet("Agent", accepted.json()["sharedWith"]),
                            ),
                        )
                    )
                del alice_fp
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {
        "check_ms": check_ms,
        "read_ms": read_ms,
        "grant_lag_ms": {
            "owner_on_create": summary(owner_lag),
            "reader_on_accept": summary(share_lag),
        },
        "queue_polling_seconds": settings.dbos.queue_polling_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=200)
    arguments = parser.parse_args()
    figures = asyncio.run(run(arguments.samples))
    result = {
        "benchmark": "permission checks (embedded) and grant-visible-after-commit lag",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "setup": "in-process app over ASGI, embedded Postgres, DBOS launched",
        "decision": "authz decides from rows (owner, accepted share) before the backend, so "
        "grant_lag_ms never shows to clients; revocation denies from the row at once",
        **figures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
