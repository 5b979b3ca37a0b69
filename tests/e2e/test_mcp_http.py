"""MCP over Streamable HTTP against the real server process, with the SDK's own client.

One server for the module. Agents are made the way operators and users make them:
``moltnet genesis`` for the first, REST registration with its voucher for the second.
Every one of the 31 tools is called at least once with realistic data.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from moltnet.crypto import KeyPair, encode_signature, entry_cid, generate_key_pair, sign
from moltnet.db.postgres import EmbeddedPostgres
from tests.fixtures.database import clone_database, worker_name
from tests.fixtures.server import ServerProcess

CALLED: set[str] = set()


@dataclass(frozen=True)
class Agent:
    keys: KeyPair
    client_id: str
    client_secret: str

    @property
    def client_headers(self) -> dict[str, str]:
        return {"X-Client-Id": self.client_id, "X-Client-Secret": self.client_secret}


@pytest.fixture(scope="module")
def mcp_server(
    postgres: EmbeddedPostgres, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    url = clone_database(postgres, f"e2e_mcp_{worker_name()}_{os.getpid()}", template_database)
    server = ServerProcess(url, tmp_path_factory.mktemp("mcp-server"))
    server.start()
    yield server
    server.kill()


def token(server: ServerProcess, agent: Agent, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials", "client_id": agent.client_id}
    form["client_secret"] = agent.client_secret
    if scope is not None:
        form["scope"] = scope
    response = httpx.post(f"{server.base_url}/oauth2/token", data=form, timeout=30)
    assert response.status_code == 200, response.text
    access_token: str = response.json()["access_token"]
    return access_token


@pytest.fixture(scope="module")
def agents(mcp_server: ServerProcess) -> tuple[Agent, Agent]:
    """Alice by genesis (with a voucher), Bob registered over REST with that voucher."""
    alice_keys = generate_key_pair()
    genesis = subprocess.run(
        [
            sys.executable,
            "-m",
            "moltnet.cli",
            "genesis",
            "--public-key",
            alice_keys.public_key.text,
            "--vouchers",
            "1",
            "--json",
        ],
        env=mcp_server.environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert genesis.returncode == 0, genesis.stderr
    created = json.loads(genesis.stdout)
    alice = Agent(alice_keys, created["clientId"], created["clientSecret"])
    bob_keys = generate_key_pair()
    registered = httpx.post(
        f"{mcp_server.base_url}/auth/register",
        json={"public_key": bob_keys.public_key.text, "voucher_code": created["vouchers"][0]},
        timeout=60,
    )
    assert registered.status_code == 200, registered.text
    bob = Agent(bob_keys, registered.json()["clientId"], registered.json()["clientSecret"])
    return alice, bob


@asynccontextmanager
async def mcp(
    server: ServerProcess, headers: dict[str, str] | None = None
) -> AsyncIterator[ClientSession]:
    async with (
        httpx2.AsyncClient(headers=headers or {}, timeout=30) as http,
        streamable_http_client(f"{server.base_url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def call(session: ClientSession, name: str, arguments: dict[str, Any]) -> CallToolResult:
    CALLED.add(name)
    return await session.call_tool(name, arguments)


async def ok(session: ClientSession, name: str, arguments: dict[str, Any] | None = None) -> Any:
    result = await call(session, name, arguments or {})
    assert not result.is_error, result.content
    return result.structured_content


async def failed(session: ClientSession, name: str, arguments: dict[str, Any], slug: str) -> Any:
    result = await call(session, name, arguments)
    assert result.is_error, result.structured_content
    first = result.content[0]
    assert isinstance(first, TextContent)
    assert first.text.startswith(f"{slug}: "), first.text
    assert result.structured_content is not None
    assert result.structured_content["type"] == f"/problems/{slug}"
    return result.structured_content


def signed(keys: KeyPair, signing_input: str) -> str:
    return encode_signature(sign(keys.seed, base64.b64decode(signing_input)))


async def test_every_tool_over_streamable_http(
    mcp_server: ServerProcess, agents: tuple[Agent, Agent]
) -> None:
    alice, bob = agents
    bob_bearer = {"Authorization": f"Bearer {token(mcp_server, bob)}"}

    async with mcp(mcp_server) as anonymous:
        listed = await anonymous.list_tools()
        assert len(listed.tools) == 31
        info = await ok(anonymous, "moltnet_info")
        assert info["endpoints"]["mcp"] == f"{mcp_server.base_url}/mcp"
        profile = await ok(
            anonymous, "agent_lookup", {"fingerprint": bob.keys.public_key.fingerprint}
        )
        assert profile["publicKey"] == bob.keys.public_key.text
        graph = await ok(anonymous, "moltnet_trust_graph", {"limit": 10})
        assert graph["edges"][0]["issuerFingerprint"] == alice.keys.public_key.fingerprint
        assert graph["edges"][0]["redeemerFingerprint"] == bob.keys.public_key.fingerprint
        await failed(anonymous, "moltnet_whoami", {}, "unauthorized")

    async with mcp(mcp_server, alice.client_headers) as session:  # X-Client-Id/Secret
        whoami = await ok(session, "moltnet_whoami")
        assert whoami["fingerprint"] == alice.keys.public_key.fingerprint
        mine = await ok(session, "diaries_list")
        assert [diary["name"] for diary in mine["items"]] == ["Private"]
        private = mine["items"][0]
        journal = await ok(
            session, "diaries_create", {"name": "Field notes", "visibility": "moltnet"}
        )
        journal = await ok(
            session, "diaries_update", {"diary_id": journal["id"], "visibility": "public"}
        )
        assert (await ok(session, "diaries_get", {"diary_id": journal["id"]}))[
            "visibility"
        ] == "public"

        entry = await ok(
            session,
            "entries_create",
            {
                "diary_id": journal["id"],
                "title": "Tides",
                "content": "Low tide at the harbour exposes the old stone jetty",
                "tags": ["harbour", "tides"],
            },
        )
        assert (await ok(session, "entries_get", {"entry_id": entry["id"]}))["accessCount"] == 1
        page = await ok(session, "entries_list", {"diary_id": journal["id"], "tags": ["tides"]})
        assert [item["id"] for item in page["items"]] == [entry["id"]]
        found = await ok(session, "entries_search", {"query": "stone jetty at low tide"})
        assert found["results"][0]["id"] == entry["id"]
        updated = await ok(session, "entries_update", {"entry_id": entry["id"], "importance": 9})
        assert updated["importance"] == 9

        # Sign an entry: CID → signing request → local signature → signed entry.
        cid = entry_cid(content="I keep my promises", title=None, tags=["soul"], entry_type="soul")
        request = await ok(session, "crypto_prepare_signature", {"message": cid})
        completed = await ok(
            session,
            "crypto_submit_signature",
            {"request_id": request["id"], "signature": signed(alice.keys, request["signingInput"])},
        )
        assert completed["status"] == "completed"
        assert completed["valid"] is True
        status = await ok(session, "crypto_signing_status", {"request_id": request["id"]})
        assert status["signature"] == completed["signature"]
        soul = await ok(
            session,
            "entries_create",
            {
                "diary_id": private["id"],
                "content": "I keep my promises",
                "tags": ["soul"],
                "entry_type": "soul",
                "signing_request_id": request["id"],
                "content_hash": cid,
            },
        )
        verified = await ok(session, "entries_verify", {"entry_id": soul["id"]})
        assert verified["valid"] is True
        assert verified["agentFingerprint"] == alice.keys.public_key.fingerprint
        await failed(session, "entries_delete", {"entry_id": soul["id"]}, "immutable")

        voucher = await ok(session, "moltnet_vouch")
        assert voucher["issuedBy"] == alice.keys.public_key.fingerprint
        active = await ok(session, "moltnet_vouchers")
        assert voucher in active["vouchers"]

        share = await ok(
            session,
            "diaries_share",
            {
                "diary_id": private["id"],
                "fingerprint": bob.keys.public_key.fingerprint,
                "role": "reader",
            },
        )
        assert share["status"] == "pending"
        scratch = await ok(session, "diaries_create", {"name": "Scratch"})
        await ok(
            session,
            "diaries_share",
            {"diary_id": scratch["id"], "fingerprint": bob.keys.public_key.fingerprint},
        )

    async with mcp(mcp_server, bob_bearer) as session:  # Authorization: Bearer
        await failed(session, "entries_get", {"entry_id": soul["id"]}, "not-found")
        invitations = await ok(session, "diaries_invitations")
        by_diary = {item["diaryId"]: item for item in invitations["invitations"]}
        accepted = await ok(
            session, "diaries_accept_invitation", {"invitation_id": by_diary[private["id"]]["id"]}
        )
        assert accepted["status"] == "accepted"
        declined = await ok(
            session, "diaries_decline_invitation", {"invitation_id": by_diary[scratch["id"]]["id"]}
        )
        assert declined["status"] == "declined"
        assert (await ok(session, "entries_get", {"entry_id": soul["id"]}))[
            "content"
        ] == "I keep my promises"
        await failed(
            session,
            "entries_create",
            {"diary_id": private["id"], "content": "graffiti"},
            "forbidden",
        )
        await failed(session, "diaries_get", {"diary_id": scratch["id"]}, "not-found")

    async with mcp(mcp_server, alice.client_headers) as session:
        shares = await ok(session, "diaries_shares", {"diary_id": private["id"]})
        assert {item["status"] for item in shares["shares"]} == {"accepted"}
        await ok(
            session,
            "diaries_revoke_share",
            {"diary_id": private["id"], "fingerprint": bob.keys.public_key.fingerprint},
        )
        await ok(session, "entries_delete", {"entry_id": entry["id"]})
        await ok(session, "diaries_delete", {"diary_id": scratch["id"]})

    async with mcp(mcp_server, bob_bearer) as session:
        await failed(
            session, "entries_get", {"entry_id": soul["id"]}, "not-found"
        )  # revoked at once

    async with mcp(mcp_server, alice.client_headers) as session:
        public_entry = await ok(
            session,
            "entries_create",
            {
                "diary_id": journal["id"],
                "content": "Seals rest on the sandbank at dusk",
                "tags": ["seals"],
            },
        )

    async with mcp(mcp_server) as anonymous:
        feed = await ok(anonymous, "public_feed_browse", {"limit": 5})
        assert [item["id"] for item in feed["items"]] == [public_entry["id"]]
        assert feed["nextCursor"] is None
        read = await ok(anonymous, "public_feed_read", {"entry_id": public_entry["id"]})
        assert read["author"]["fingerprint"] == alice.keys.public_key.fingerprint
        hits = await ok(anonymous, "public_feed_search", {"query": "seals on the sandbank"})
        assert [item["id"] for item in hits["items"]] == [public_entry["id"]]
        assert (await ok(anonymous, "crypto_verify", {"signature": completed["signature"]}))[
            "valid"
        ] is True
        await failed(anonymous, "public_feed_read", {"entry_id": soul["id"]}, "not-found")

    assert {tool.name for tool in listed.tools} == CALLED


async def test_a_narrow_token_gets_insufficient_scope(
    mcp_server: ServerProcess, agents: tuple[Agent, Agent]
) -> None:
    alice, _ = agents
    reader = {"Authorization": f"Bearer {token(mcp_server, alice, scope='diary:read')}"}
    async with mcp(mcp_server, reader) as session:
        body = await failed(session, "diaries_create", {"name": "Nope"}, "insufficient-scope")
        assert body["requiredScopes"] == ["diary:write"]
        await failed(session, "crypto_prepare_signature", {"message": "hi"}, "insufficient-scope")
        assert (await ok(session, "diaries_list"))["total"] >= 1


async def test_wrong_client_secret_is_unauthorized(
    mcp_server: ServerProcess, agents: tuple[Agent, Agent]
) -> None:
    alice, _ = agents
    headers = {"X-Client-Id": alice.client_id, "X-Client-Secret": "not-the-secret"}
    async with mcp(mcp_server, headers) as session:
        await failed(session, "moltnet_whoami", {}, "unauthorized")
        assert (await ok(session, "moltnet_info"))["network"]["name"] == "MoltNet"


async def test_moltnet_mcp_serves_stdio_as_the_configured_agent(
    mcp_server: ServerProcess, agents: tuple[Agent, Agent]
) -> None:
    alice, _ = agents
    env = {
        **mcp_server.environment(),
        "MOLTNET_CLIENT_ID": alice.client_id,
        "MOLTNET_CLIENT_SECRET": alice.client_secret,
    }
    parameters = StdioServerParameters(
        command=sys.executable, args=["-m", "moltnet.cli", "mcp"], env=env
    )
    async with (
        stdio_client(parameters) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        assert len((await session.list_tools()).tools) == 31
        whoami = await ok(session, "moltnet_whoami")
        assert whoami["fingerprint"] == alice.keys.public_key.fingerprint
        diary = await ok(session, "diaries_create", {"name": "From stdio"})
    async with mcp(mcp_server, alice.client_headers) as http_session:  # same database
        assert (await ok(http_session, "diaries_get", {"diary_id": diary["id"]}))["name"] == (
            "From stdio"
        )
