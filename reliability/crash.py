# ruff: noqa: S101, S311, SIM117 - scripts: asserts are checks, seeded RNGs, fixed commands
"""Crash at any point: drive every write path of a ``moltnet serve`` subprocess while
SIGKILLing it at random moments, restart it, let DBOS recover, then check by SQL that the
database is consistent.

    uv run python -m reliability.crash [--kills 200] [--seed 7]

Invariants (API.md §3.5-3.9, §6):
* tuples: every diary has its ``owner`` tuple, every accepted share its ``readers``/``writers``
  tuple, every entry its ``parent`` tuple, every agent its ``self`` tuple, and there is no
  other Diary/DiaryEntry/Agent tuple (deleted rows and revoked shares leave nothing);
* agents: every agent has its identity and its OAuth2 client, and no identity or client is
  left without its agent (registration compensates: all three or none);
* vouchers: no voucher is redeemed without the agent that redeemed it;
* signing: no request is still ``pending`` a grace period after ``expiresAt``.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.fixtures.server import ServerProcess

from moltnet.crypto import sign
from reliability.harness import (
    DOCS,
    Agent,
    genesis,
    register,
    sql,
    standalone_server,
    token,
    wait_for_workflows,
)

SIGNING_TTL_SECONDS = 5
PENDING_GRACE_SECONDS = 10
RECOVERY_DEADLINE_SECONDS = 120
CRASH_ENV = {"SIGNING_REQUEST_TTL_SECONDS": str(SIGNING_TTL_SECONDS)}


@dataclass
class Workload:
    """A random stream of write requests from a pool of agents; transport errors (the server
    is down) are expected and counted, never fatal."""

    base_url: str
    agents: list[Agent]
    vouchers: list[str]
    rng: random.Random
    statuses: Counter[str] = field(default_factory=Counter)
    diaries: list[tuple[Agent, str]] = field(default_factory=list)
    entries: list[tuple[Agent, str]] = field(default_factory=list)
    invitations: list[tuple[Agent, Agent, str, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            while not self.stop.is_set():
                operation = self.rng.choice(
                    [
                        self.register,
                        self.create_diary,
                        self.create_diary,
                        self.delete_diary,
                        self.share,
                        self.share,
                        self.respond,
                        self.respond,
                        self.revoke,
                        self.create_entry,
                        self.create_entry,
                        self.delete_entry,
                        self.signing,
                    ]
                )
                try:
                    operation(client)
                except httpx.TransportError:
                    self.statuses["transport-error"] += 1
                    time.sleep(0.05)

    def record(self, name: str, response: httpx.Response) -> httpx.Response:
        self.statuses[f"{name} {response.status_code}"] += 1
        return response

    def register(self, client: httpx.Client) -> None:
        if not self.vouchers:
            return
        voucher = self.vouchers.pop()
        try:
            agent = register(client, voucher)
        except RuntimeError:
            self.statuses["register failed"] += 1
            return
        self.statuses["register 200"] += 1
        self.agents.append(token(client, agent))

    def create_diary(self, client: httpx.Client) -> None:
        agent = self.rng.choice(self.agents)
        visibility = self.rng.choice(["private", "moltnet", "public"])
        response = self.record(
            "create diary",
            client.post(
                "/diaries", json={"name": "crash", "visibility": visibility}, headers=agent.headers
            ),
        )
        if response.status_code == 201:
            self.diaries.append((agent, response.json()["id"]))

    def delete_diary(self, client: httpx.Client) -> None:
        if len(self.diaries) < 3:
            return
        agent, diary_id = self.diaries.pop(self.rng.randrange(len(self.diaries)))
        self.record("delete diary", client.delete(f"/diaries/{diary_id}", headers=agent.headers))

    def share(self, client: httpx.Client) -> None:
        if not self.diaries or len(self.agents) < 2:
            return
        owner, diary_id = self.rng.choice(self.diaries)
        invitee = self.rng.choice([agent for agent in self.agents if agent is not owner])
        response = self.record(
            "share",
            client.post(
                f"/diaries/{diary_id}/share",
                json={
                    "fingerprint": invitee.fingerprint,
                    "role": self.rng.choice(["reader", "writer"]),
                },
                headers=owner.headers,
            ),
        )
        if response.status_code == 201:
            self.invitations.append((owner, invitee, diary_id, response.json()["id"]))

    def respond(self, client: httpx.Client) -> None:
        if not self.invitations:
            return
        _, invitee, _, share_id = self.rng.choice(self.invitations)
        action = self.rng.choice(["accept", "accept", "decline"])
        self.record(
            action,
            client.post(f"/diaries/invitations/{share_id}/{action}", headers=invitee.headers),
        )

    def revoke(self, client: httpx.Client) -> None:
        if not self.invitations:
            return
        owner, invitee, diary_id, _ = self.invitations.pop(
            self.rng.randrange(len(self.invitations))
        )
        self.record(
            "revoke",
            client.delete(
                f"/diaries/{diary_id}/share/{invitee.fingerprint}", headers=owner.headers
            ),
        )

    def create_entry(self, client: httpx.Client) -> None:
        if not self.diaries:
            return
        agent, diary_id = self.rng.choice(self.diaries)
        response = self.record(
            "create entry",
            client.post(
                f"/diaries/{diary_id}/entries",
                json={"content": f"crash note {self.rng.random()}", "tags": ["crash"]},
                headers=agent.headers,
            ),
        )
        if response.status_code == 201:
            self.entries.append((agent, response.json()["id"]))

    def delete_entry(self, client: httpx.Client) -> None:
        if len(self.entries) < 3:
            return
        agent, entry_id = self.entries.pop(self.rng.randrange(len(self.entries)))
        self.record("delete entry", client.delete(f"/entries/{entry_id}", headers=agent.headers))

    def signing(self, client: httpx.Client) -> None:
        agent = self.rng.choice(self.agents)
        created = self.record(
            "create signing",
            client.post(
                "/crypto/signing-requests", json={"message": "crash"}, headers=agent.headers
            ),
        )
        if created.status_code != 201 or self.rng.random() < 0.3:
            return  # some requests are left to expire
        request = created.json()
        signature = sign(agent.keys.seed, base64.b64decode(request["signingInput"]))
        self.record(
            "sign",
            client.post(
                f"/crypto/signing-requests/{request['id']}/sign",
                json={"signature": base64.b64encode(signature).decode()},
                headers=agent.headers,
            ),
        )


def tuple_violations(database_url: str) -> list[str]:
    stored = {
        tuple(row)
        for row in sql(
            database_url,
            "SELECT namespace, object, relation, subject_namespace || ':' || subject_object "
            "FROM embedded.relation_tuples WHERE namespace IN ('Diary', 'DiaryEntry', 'Agent')",
        )
    }
    expected = {
        tuple(row)
        for row in sql(
            database_url,
            "SELECT 'Diary', id::text, 'owner', 'Agent:' || owner_id FROM diaries "
            "UNION ALL SELECT 'Diary', diary_id::text, "
            "CASE role WHEN 'writer' THEN 'writers' ELSE 'readers' END, "
            "'Agent:' || shared_with FROM diary_shares WHERE status = 'accepted' "
            "UNION ALL SELECT 'DiaryEntry', id::text, 'parent', 'Diary:' || diary_id "
            "FROM diary_entries "
            "UNION ALL SELECT 'Agent', identity_id::text, 'self', 'Agent:' || identity_id "
            "FROM agent_keys",
        )
    }
    return [f"missing tuple {row}" for row in sorted(expected - stored)] + [
        f"stale tuple {row}" for row in sorted(stored - expected)
    ]


def agent_violations(database_url: str) -> list[str]:
    rows = sql(
        database_url,
        "SELECT 'agent without identity', a.identity_id::text FROM agent_keys a "
        "LEFT JOIN embedded.identities i ON i.id = a.identity_id WHERE i.id IS NULL "
        "UNION ALL SELECT 'agent without oauth2 client', a.identity_id::text FROM agent_keys a "
        "WHERE NOT EXISTS (SELECT 1 FROM embedded.oauth2_clients c "
        "WHERE c.identity_id = a.identity_id) "
        "UNION ALL SELECT 'identity without agent', i.id::text FROM embedded.identities i "
        "LEFT JOIN agent_keys a ON a.identity_id = i.id WHERE a.identity_id IS NULL "
        "UNION ALL SELECT 'oauth2 client without agent', c.client_id FROM embedded.oauth2_clients c "
        "LEFT JOIN agent_keys a ON a.identity_id = c.identity_id WHERE a.identity_id IS NULL "
        "UNION ALL SELECT 'voucher redeemed without agent', v.code FROM agent_vouchers v "
        "LEFT JOIN agent_keys a ON a.identity_id = v.redeemed_by "
        "WHERE (v.redeemed_by IS NOT NULL OR v.redeemed_at IS NOT NULL) AND a.identity_id IS NULL",
    )
    return [f"{kind}: {key}" for kind, key in rows]


def signing_violations(database_url: str) -> list[str]:
    rows = sql(
        database_url,
        "SELECT id::text, expires_at FROM signing_requests WHERE status = 'pending' "
        "AND expires_at < now() - make_interval(secs => %s)",
        PENDING_GRACE_SECONDS,
    )
    return [f"signing request {row[0]} still pending (expired {row[1]})" for row in rows]


def check_invariants(database_url: str) -> dict[str, Any]:
    remaining = wait_for_workflows(database_url, RECOVERY_DEADLINE_SECONDS)
    # let the last signing requests pass expiresAt + grace (their workflows expire them)
    (latest,) = sql(
        database_url,
        "SELECT coalesce(max(extract(epoch FROM expires_at - now())), 0) FROM signing_requests "
        "WHERE status = 'pending'",
    )[0]
    if float(latest) > -PENDING_GRACE_SECONDS:
        time.sleep(min(float(latest) + PENDING_GRACE_SECONDS + 1, 60))
    violations = tuple_violations(database_url) + agent_violations(database_url)
    violations += signing_violations(database_url)
    if remaining:
        violations.append(f"{remaining} workflows still ENQUEUED/PENDING after recovery")
    counts = {
        name: int(sql(database_url, f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608
        for name, table in (
            ("agents", "agent_keys"),
            ("diaries", "diaries"),
            ("entries", "diary_entries"),
            ("shares", "diary_shares"),
            ("signing_requests", "signing_requests"),
            ("tuples", "embedded.relation_tuples"),
            ("workflows", "dbos.workflow_status"),
        )
    }
    return {"violations": violations, "rows": counts}


def run_crash(
    server: ServerProcess,
    *,
    kills: int,
    seed: int,
    vouchers: int,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """Up to ``kills`` SIGKILLs; with ``max_seconds`` the kill loop stops early when its time
    is up, and the outcome reports the kills really done (``kills``) and the target."""
    assert server.database_url is not None
    rng = random.Random(seed)
    started = time.monotonic()
    genesis_agent, codes = genesis(server, vouchers=vouchers)
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        pool = [token(client, genesis_agent)]
        for code in [codes.pop() for _ in range(min(3, len(codes)))]:
            pool.append(token(client, register(client, code)))
    workload = Workload(server.base_url, pool, codes, rng)
    driver = threading.Thread(target=workload.run, daemon=True)
    driver.start()
    restart_seconds: list[float] = []
    kill_deadline = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        for _ in range(kills):
            if kill_deadline is not None and time.monotonic() > kill_deadline:
                break
            time.sleep(rng.uniform(0.05, 1.0))
            server.kill()
            before = time.monotonic()
            server.start()
            restart_seconds.append(time.monotonic() - before)
        time.sleep(1.0)  # a little traffic after the last restart
    finally:
        workload.stop.set()
        driver.join(timeout=30)
    outcome = check_invariants(server.database_url)
    outcome.update(
        {
            "kills": len(restart_seconds),
            "kills_target": kills,
            "seed": seed,
            "requests": dict(sorted(workload.statuses.items())),
            "server_errors": {key: n for key, n in workload.statuses.items() if " 5" in key and n},
            "restart_seconds_mean": round(sum(restart_seconds) / max(1, len(restart_seconds)), 2),
            "duration_seconds": round(time.monotonic() - started, 1),
        }
    )
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="stop killing after this many seconds (the report gives the kills really done)",
    )
    parser.add_argument("--out", type=Path, default=DOCS / "reliability" / "crash.json")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="moltnet-crash-") as home:
        with standalone_server(Path(home), **CRASH_ENV) as server:
            outcome = run_crash(
                server,
                kills=args.kills,
                seed=args.seed,
                vouchers=400,
                max_seconds=args.max_seconds,
            )
    args.out.write_text(json.dumps(outcome, indent=2, default=str))
    print(json.dumps({k: v for k, v in outcome.items() if k != "requests"}, indent=2, default=str))
    return 0 if not outcome["violations"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
