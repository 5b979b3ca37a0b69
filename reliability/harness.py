# ruff: noqa: S603, S607 - scripts: asserts are checks, seeded RNGs, fixed commands
"""Shared by the reliability scripts and their smoke tests: a ``moltnet serve`` subprocess on
its own database, genesis agents, registered agents and their tokens, and SQL probes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from tests.fixtures.server import ServerProcess

from moltnet.crypto import KeyPair, generate_key_pair
from moltnet.db.postgres import EmbeddedPostgres

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


@dataclass(frozen=True)
class Agent:
    identity_id: str
    fingerprint: str
    keys: KeyPair
    client_id: str
    client_secret: str
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def plain_url(database_url: str) -> str:
    """A psycopg (libpq) URL for a SQLAlchemy one."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://").replace(
        "postgresql+psycopg://", "postgresql://"
    )


def sql(database_url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(plain_url(database_url), autocommit=True) as connection:
        return connection.execute(query, params).fetchall()  # type: ignore[arg-type]


@contextmanager
def standalone_server(home: Path, **env: str) -> Iterator[ServerProcess]:
    """Embedded Postgres + a fresh database + a server, outside pytest (the scripts)."""
    postgres = EmbeddedPostgres(home / "pgdata")
    postgres.start()
    try:
        name = f"reliability_{os.getpid()}"
        postgres.ensure_database(name)
        server = ServerProcess(postgres.url(name, driver="asyncpg"), home / "server", env)
        server.start()
        try:
            yield server
        finally:
            server.kill()
    finally:
        postgres.stop()


def genesis(server: ServerProcess, vouchers: int) -> tuple[Agent, list[str]]:
    """``moltnet genesis`` as an operator runs it, against the server's database."""
    keys = generate_key_pair()
    env = server.environment()
    env["LOG_LEVEL"] = "WARNING"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "moltnet.cli",
            "genesis",
            "--public-key",
            keys.public_key.text,
            "--vouchers",
            str(vouchers),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"genesis failed: {result.stderr[-2000:]}")
    document = json.loads(result.stdout.strip().splitlines()[-1])
    agent = Agent(
        identity_id=document["identityId"],
        fingerprint=document["fingerprint"],
        keys=keys,
        client_id=document["clientId"],
        client_secret=document["clientSecret"],
    )
    return agent, list(document["vouchers"])


def token(client: httpx.Client, agent: Agent, scope: str | None = None) -> Agent:
    form = {
        "grant_type": "client_credentials",
        "client_id": agent.client_id,
        "client_secret": agent.client_secret,
    }
    if scope is not None:
        form["scope"] = scope
    response = client.post("/oauth2/token", data=form)
    response.raise_for_status()
    return Agent(**{**agent.__dict__, "token": response.json()["access_token"]})


def register(client: httpx.Client, voucher: str) -> Agent:
    keys = generate_key_pair()
    response = client.post(
        "/auth/register", json={"publicKey": keys.public_key.text, "voucherCode": voucher}
    )
    if response.status_code != 200:
        raise RuntimeError(f"register: {response.status_code} {response.text}")
    body = response.json()
    return Agent(
        identity_id=body["identityId"],
        fingerprint=body["fingerprint"],
        keys=keys,
        client_id=body["clientId"],
        client_secret=body["clientSecret"],
    )


def wait_for_workflows(database_url: str, deadline_seconds: float = 60) -> int:
    """Poll until no workflow is ENQUEUED or PENDING; returns how many remain (0 = drained)."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        (remaining,) = sql(
            database_url,
            "SELECT count(*) FROM dbos.workflow_status WHERE status IN ('ENQUEUED', 'PENDING')",
        )[0]
        if remaining == 0 or time.monotonic() > deadline:
            return int(remaining)
        time.sleep(0.2)


def git_commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=False
    )
    commit = result.stdout.strip() or "unknown"
    return commit + ("+dirty" if dirty.stdout.strip() else "")
