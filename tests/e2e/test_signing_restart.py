"""The signing wait survives SIGKILL: the real server in a subprocess, killed and restarted.

The DBOS ``recv`` deadline is durable (FINDINGS.md): a workflow interrupted while waiting
resumes after the restart and still accepts the signature, or, when ``expiresAt`` passed
while the server was down, times out at once and records ``expired``.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy import Engine, create_engine, insert, text

from moltnet.crypto import KeyPair, encode_signature, generate_key_pair, sign
from moltnet.db.models import AgentKey
from moltnet.lifespan import load_signing_keys
from tests.fixtures.agents import TokenMinter
from tests.fixtures.app import make_settings
from tests.fixtures.server import ServerProcess

PATH = "/crypto/signing-requests"
ServerFactory = Callable[..., ServerProcess]


def wait_for(check: Callable[[], Any], *, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.05)


class Agent:
    """An agent registered straight into the server's database, with a token from its issuer."""

    def __init__(self, server: ServerProcess, database: Engine) -> None:
        self.keys: KeyPair = generate_key_pair()
        self.identity_id = uuid4()
        with database.begin() as connection:
            connection.execute(
                insert(AgentKey).values(
                    identity_id=self.identity_id,
                    public_key=self.keys.public_key.text,
                    fingerprint=self.keys.public_key.fingerprint,
                )
            )
        assert server.database_url is not None
        # The server keeps its token keys under MOLTNET_HOME; its issuer is PUBLIC_BASE_URL.
        settings = make_settings(server.database_url, server.home, public_base_url=server.base_url)
        token = TokenMinter(load_signing_keys(settings), settings).mint(
            identity_id=self.identity_id,
            public_key=self.keys.public_key.text,
            fingerprint=self.keys.public_key.fingerprint,
            client_id=str(uuid4()),
        )
        self.headers = {"Authorization": f"Bearer {token}"}

    def create(self, server: ServerProcess, message: str) -> dict[str, Any]:
        response = httpx.post(
            f"{server.base_url}{PATH}", json={"message": message}, headers=self.headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def signature(self, request: dict[str, Any]) -> str:
        return encode_signature(sign(self.keys.seed, base64.b64decode(request["signingInput"])))

    def get(self, server: ServerProcess, request: dict[str, Any]) -> dict[str, Any]:
        response = httpx.get(f"{server.base_url}{PATH}/{request['id']}", headers=self.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@contextmanager
def database_of(server: ServerProcess) -> Iterator[Engine]:
    assert server.database_url is not None
    engine = create_engine(server.database_url.replace("+asyncpg", "+psycopg"))
    try:
        yield engine
    finally:
        engine.dispose()


def waiting_in_recv(database: Engine, request_id: str) -> bool:
    """The workflow published its envelope, so it has reached its ``recv``."""
    with database.connect() as connection:
        found = connection.scalar(
            text(
                "SELECT 1 FROM dbos.workflow_events WHERE workflow_uuid = :id AND key = 'envelope'"
            ),
            {"id": f"signing:{request_id}"},
        )
    return found is not None


def stored_status(database: Engine, request_id: str) -> tuple[str, bool | None]:
    with database.connect() as connection:
        row = connection.execute(
            text("SELECT status, valid FROM signing_requests WHERE id = :id"),
            {"id": UUID(request_id)},
        ).one()
    return str(row.status), row.valid


def test_signature_is_accepted_after_sigkill_and_restart(server: ServerProcess) -> None:
    with database_of(server) as database:
        accepted_after_restart(server, database)


def accepted_after_restart(server: ServerProcess, database: Engine) -> None:
    agent = Agent(server, database)
    request = agent.create(server, "signed across a crash")
    wait_for(lambda: waiting_in_recv(database, request["id"]), what="workflow waiting")

    server.kill()
    server.start()

    response = httpx.post(
        f"{server.base_url}{PATH}/{request['id']}/sign",
        json={"signature": agent.signature(request)},
        headers=agent.headers,
        timeout=30,
    )
    assert response.status_code in (200, 202), response.text  # 202: verdict still running
    final = wait_for(
        lambda: (body := agent.get(server, request))["status"] == "completed" and body,
        what="completed",
    )
    assert final["valid"] is True
    assert stored_status(database, request["id"]) == ("completed", True)
    verified = httpx.post(
        f"{server.base_url}/crypto/verify", json={"signature": agent.signature(request)}
    )
    assert verified.json() == {"valid": True}


def test_request_whose_ttl_passed_while_down_ends_expired(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(SIGNING_REQUEST_TTL_SECONDS="2")
    with database_of(server) as database:
        expired_while_down(server, database)


def expired_while_down(server: ServerProcess, database: Engine) -> None:
    agent = Agent(server, database)
    request = agent.create(server, "never signed")
    wait_for(lambda: waiting_in_recv(database, request["id"]), what="workflow waiting")

    server.kill()
    expires_at = datetime.fromisoformat(request["expiresAt"].replace("Z", "+00:00"))
    # Let the deadline pass while no process is running (waiting on the clock, not a race).
    wait_for(lambda: datetime.now(UTC) > expires_at, what="deadline passed", timeout=10)
    assert stored_status(database, request["id"]) == ("pending", None)
    server.start()

    wait_for(
        lambda: stored_status(database, request["id"]) == ("expired", None),
        what="expired recorded by the recovered workflow",
    )
    assert agent.get(server, request)["status"] == "expired"
    late = httpx.post(
        f"{server.base_url}{PATH}/{request['id']}/sign",
        json={"signature": agent.signature(request)},
        headers=agent.headers,
    )
    assert late.status_code == 409
    assert late.json()["type"] == "/problems/signing-request-expired"
