"""Permission tuples survive SIGKILL: every diary ends with exactly the tuples its rows imply.

The real server runs in a subprocess while a client streams create / share / accept /
decline / revoke / delete requests at it; the server is SIGKILLed at random moments
(at least 50 times) and restarted on the same database. After the last restart, once
every ``keto.*`` workflow has finished, the stored tuples must equal what the rows
imply (API.md §6): no orphan, no lost grant, no stale grant.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.e2e.test_signing_restart import Agent, database_of
from tests.fixtures.server import ServerProcess

# make test runs a short version; `make reliability` sets MOLTNET_CRASH_KILLS=50.
KILLS = int(os.environ.get("MOLTNET_CRASH_KILLS", "12"))
SETTLE_SECONDS = 120

TupleText = tuple[str, str, str, str]


def stored_tuples(database: Engine) -> set[TupleText]:
    with database.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT namespace, object, relation, subject_namespace || ':' || subject_object "
                "FROM embedded.relation_tuples WHERE namespace IN ('Diary', 'DiaryEntry')"
            )
        )
        return {(row[0], row[1], row[2], row[3]) for row in rows}


def expected_tuples(database: Engine) -> set[TupleText]:
    with database.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT 'Diary', id::text, 'owner', 'Agent:' || owner_id FROM diaries "
                "UNION ALL SELECT 'Diary', diary_id::text, "
                "CASE role WHEN 'writer' THEN 'writers' ELSE 'readers' END, "
                "'Agent:' || shared_with FROM diary_shares WHERE status = 'accepted' "
                "UNION ALL SELECT 'DiaryEntry', id::text, 'parent', 'Diary:' || diary_id "
                "FROM diary_entries"
            )
        )
        return {(row[0], row[1], row[2], row[3]) for row in rows}


def unfinished_keto_workflows(database: Engine) -> list[tuple[str, str]]:
    with database.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT workflow_uuid, status FROM dbos.workflow_status "
                "WHERE name LIKE 'keto.%' AND status <> 'SUCCESS'"
            )
        )
        return [(row[0], row[1]) for row in rows]


class Traffic:
    """A stream of random diary and share requests; transport errors are expected (kills)."""

    def __init__(self, server: ServerProcess, owner: Agent, others: list[Agent]) -> None:
        self.server = server
        self.owner = owner
        self.others = others
        self.random = random.Random(5)  # seeded: a failure can be replayed
        self.stop = threading.Event()
        self.diaries: list[str] = []
        self.completed = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with httpx.Client(base_url=self.server.base_url, timeout=5) as client:
            while not self.stop.is_set():
                try:
                    self.step(client)
                    self.completed += 1
                except httpx.TransportError:
                    time.sleep(0.02)  # the server is down: wait for the restart

    def step(self, client: httpx.Client) -> None:
        choice = self.random.random()
        owner = self.owner.headers
        other = self.random.choice(self.others)
        if choice < 0.2 or not self.diaries:
            visibility = self.random.choice(["private", "moltnet", "public"])
            response = client.post(
                "/diaries", json={"name": "crash", "visibility": visibility}, headers=owner
            )
            if response.status_code == 201:
                self.diaries.append(response.json()["id"])
            return
        diary_id = self.random.choice(self.diaries)
        fingerprint = other.keys.public_key.fingerprint
        if choice < 0.45:
            role = self.random.choice(["reader", "writer"])
            client.post(
                f"/diaries/{diary_id}/share",
                json={"fingerprint": fingerprint, "role": role},
                headers=owner,
            )
        elif choice < 0.7:
            invitations = client.get("/diaries/invitations", headers=other.headers)
            if invitations.status_code == 200 and invitations.json()["invitations"]:
                share = self.random.choice(invitations.json()["invitations"])
                action = "accept" if self.random.random() < 0.8 else "decline"
                client.post(f"/diaries/invitations/{share['id']}/{action}", headers=other.headers)
        elif choice < 0.9:
            client.delete(f"/diaries/{diary_id}/share/{fingerprint}", headers=owner)
        else:
            response = client.delete(f"/diaries/{diary_id}", headers=owner)
            if response.status_code in (200, 404):
                self.diaries.remove(diary_id)


def wait_for(check: Callable[[], Any], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.1)


# Each restart boots the whole app (about 3 s idle, 6 s on a loaded 2-core box).
@pytest.mark.timeout(KILLS * 20 + SETTLE_SECONDS)
def test_tuples_match_rows_after_repeated_sigkills(server: ServerProcess) -> None:
    rng = random.Random(11)  # seeded kill timing
    server.env_overrides["DATABASE_MIGRATE_ON_START"] = "false"  # migrated by the first start
    with database_of(server) as database:
        owner = Agent(server, database)
        others = [Agent(server, database) for _ in range(3)]
        traffic = Traffic(server, owner, others)
        traffic.thread.start()
        try:
            for _ in range(KILLS):
                time.sleep(rng.uniform(0.05, 0.6))
                server.kill()
                server.start()
        finally:
            time.sleep(0.5)
            traffic.stop.set()
            traffic.thread.join(timeout=30)
        assert server.starts >= KILLS + 1
        assert traffic.completed > KILLS  # requests really ran between the kills

        wait_for(
            lambda: not unfinished_keto_workflows(database),
            timeout=SETTLE_SECONDS,
            what=f"keto workflows finished ({unfinished_keto_workflows(database)[:5]})",
        )
        stored, expected = stored_tuples(database), expected_tuples(database)
        assert expected, "the traffic created no diaries"
        assert stored == expected, (
            f"orphans: {sorted(stored - expected)[:10]}, missing: {sorted(expected - stored)[:10]}"
        )
