"""The MCP edge in process: the SDK's own client over Streamable HTTP against the real app.

One app for the module (DBOS launched, real commits): tool calls commit their own unit of
work, like REST requests. Every agent is fresh, so tests do not depend on each other.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from asgi_lifespan import LifespanManager
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent, TextResourceContents
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from moltnet.config import Settings
from moltnet.main import create_app
from moltnet.schemas.enums import Scope
from tests.fixtures.agents import Factories, TestAgent, TokenMinter
from tests.fixtures.app import BASE_URL
from tests.fixtures.database import truncate_everything

TOOL_NAMES = {
    "moltnet_whoami", "moltnet_info", "agent_lookup", "diaries_list", "diaries_create",
    "diaries_get", "diaries_update", "diaries_delete", "diaries_share", "diaries_shares",
    "diaries_revoke_share", "diaries_invitations", "diaries_accept_invitation",
    "diaries_decline_invitation", "entries_create", "entries_get", "entries_list",
    "entries_search", "entries_update", "entries_delete", "entries_verify",
    "crypto_prepare_signature", "crypto_submit_signature", "crypto_signing_status",
    "crypto_verify", "moltnet_vouch", "moltnet_vouchers", "moltnet_trust_graph",
    "public_feed_browse", "public_feed_read", "public_feed_search",
}  # fmt: skip


@pytest.fixture(scope="module")
async def mcp_app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Any]:
    await truncate_everything(engine)
    app = create_app(settings, launch_workflows=True)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=30) as manager:
        yield manager.app


@pytest.fixture
def committed(engine: AsyncEngine, minter: TokenMinter) -> Factories:
    return Factories(async_sessionmaker(engine, expire_on_commit=False), minter)


@asynccontextmanager
async def mcp_session(
    app: Any, headers: dict[str, str] | None = None
) -> AsyncIterator[ClientSession]:
    transport = httpx2.ASGITransport(app=app)
    async with (
        httpx2.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers or {}) as http,
        streamable_http_client(f"{BASE_URL}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    first = result.content[0]
    assert isinstance(first, TextContent)
    assert json.loads(first.text) == result.structured_content
    return result.structured_content


def failed(result: CallToolResult, slug: str) -> dict[str, Any]:
    assert result.is_error, result.structured_content
    first = result.content[0]
    assert isinstance(first, TextContent)
    assert first.text.startswith(f"{slug}: "), first.text
    body = result.structured_content
    assert body is not None
    assert body["type"] == f"/problems/{slug}"
    assert body["code"] == slug.upper().replace("-", "_")
    return body


async def test_list_tools_names_every_classic_tool_with_schemas(mcp_app: Any) -> None:
    async with mcp_session(mcp_app) as session:
        listed = await session.list_tools()
    tools = {tool.name: tool for tool in listed.tools}
    assert set(tools) == TOOL_NAMES
    for tool in tools.values():
        assert tool.description
        assert len(tool.description) > 30
        assert tool.input_schema["type"] == "object"
        assert tool.input_schema.get("additionalProperties") is False
        assert tool.output_schema is not None
        assert tool.output_schema["type"] == "object"
    create = tools["entries_create"].input_schema
    assert create["required"] == ["diary_id", "content"]
    assert create["properties"]["importance"]["maximum"] == 10
    assert create["properties"]["tags"]["maxItems"] == 20
    assert "contentHash" in tools["entries_create"].output_schema["properties"]


async def test_diary_and_entry_round_trip_uses_rest_shapes(
    mcp_app: Any, committed: Factories
) -> None:
    alice = await committed.agent()
    async with mcp_session(mcp_app, alice.auth_headers) as session:
        diary = ok(
            await session.call_tool("diaries_create", {"name": "Notes", "visibility": "private"})
        )
        assert diary["role"] == "owner"
        assert diary["ownerId"] == str(alice.identity_id)
        entry = ok(
            await session.call_tool(
                "entries_create",
                {
                    "diary_id": diary["id"],
                    "content": "The deploy pipeline needs a manual approval step",
                    "tags": ["ops", "deploy"],
                    "importance": 8,
                    "entry_type": "procedural",
                },
            )
        )
        assert entry["entryType"] == "procedural"
        assert entry["author"]["fingerprint"] == alice.fingerprint
        assert entry["contentHash"].startswith("bafkrei")
        read = ok(await session.call_tool("entries_get", {"entry_id": entry["id"]}))
        assert read["accessCount"] == 1
        found = ok(await session.call_tool("entries_search", {"query": "manual approval deploy"}))
        assert [hit["id"] for hit in found["results"]] == [entry["id"]]
        listed = ok(
            await session.call_tool("entries_list", {"diary_id": diary["id"], "tags": ["ops"]})
        )
        assert listed["total"] == 1
        verified = ok(await session.call_tool("entries_verify", {"entry_id": entry["id"]}))
        assert verified == {
            "signed": False,
            "hashMatches": True,
            "signatureValid": False,
            "valid": False,
            "contentHash": entry["contentHash"],
            "agentFingerprint": None,
        }


async def test_other_agents_private_diary_is_not_found(mcp_app: Any, committed: Factories) -> None:
    alice, bob = await committed.agent(), await committed.agent()
    async with mcp_session(mcp_app, alice.auth_headers) as session:
        diary = ok(await session.call_tool("diaries_create", {"name": "Secret"}))
    async with mcp_session(mcp_app, bob.auth_headers) as session:
        body = failed(
            await session.call_tool("diaries_get", {"diary_id": diary["id"]}), "not-found"
        )
        assert body["detail"] == "diary not found"
        failed(
            await session.call_tool("entries_create", {"diary_id": diary["id"], "content": "x"}),
            "not-found",
        )


async def test_token_without_scope_gets_insufficient_scope(
    mcp_app: Any, committed: Factories
) -> None:
    reader = await committed.agent(scopes=[Scope.diary_read.value])
    async with mcp_session(mcp_app, reader.auth_headers) as session:
        body = failed(
            await session.call_tool("diaries_create", {"name": "Nope"}), "insufficient-scope"
        )
        assert body["requiredScopes"] == ["diary:write"]
        # API.md §1.5: the scope is checked before the arguments
        failed(await session.call_tool("entries_create", {"bogus": 1}), "insufficient-scope")
        ok(await session.call_tool("diaries_list", {}))


async def test_anonymous_calls_reach_public_tools_only(mcp_app: Any, committed: Factories) -> None:
    alice = await committed.agent()
    async with mcp_session(mcp_app) as session:
        info = ok(await session.call_tool("moltnet_info", {}))
        assert info["endpoints"]["mcp"].endswith("/mcp")
        agent = ok(
            await session.call_tool("agent_lookup", {"fingerprint": alice.fingerprint.lower()})
        )
        assert agent["publicKey"] == alice.public_key
        failed(await session.call_tool("moltnet_whoami", {}), "unauthorized")
        failed(await session.call_tool("diaries_list", {}), "unauthorized")


async def test_invalid_arguments_are_validation_failed(mcp_app: Any, committed: Factories) -> None:
    alice = await committed.agent()
    async with mcp_session(mcp_app, alice.auth_headers) as session:
        body = failed(
            await session.call_tool("diaries_get", {"diary_id": "not-a-uuid"}), "validation-failed"
        )
        assert body["errors"][0]["field"] == "diary_id"
        body = failed(
            await session.call_tool("diaries_create", {"name": "x", "colour": "red"}),
            "validation-failed",
        )
        assert body["errors"] == [{"field": "colour", "message": "unknown field"}]
        failed(await session.call_tool("diaries_create", {"name": "a\x00b"}), "validation-failed")
        failed(await session.call_tool("diaries_list", {"limit": "5"}), "validation-failed")
        failed(await session.call_tool("diaries_create", {"name": "x" * 256}), "validation-failed")


async def test_bad_bearer_token_is_unauthorized(mcp_app: Any) -> None:
    async with mcp_session(mcp_app, {"Authorization": "Bearer not.a.jwt"}) as session:
        failed(await session.call_tool("moltnet_whoami", {}), "unauthorized")
        ok(await session.call_tool("moltnet_info", {}))  # public tools ignore credentials


async def test_client_credentials_headers_authenticate(mcp_app: Any, committed: Factories) -> None:
    agent = await committed.registered_agent()
    headers = {"X-Client-Id": agent.client_id, "X-Client-Secret": agent.client_secret}
    async with mcp_session(mcp_app, headers) as session:
        whoami = ok(await session.call_tool("moltnet_whoami", {}))
        assert whoami["identityId"] == str(agent.identity_id)
        assert whoami["clientId"] == agent.client_id
        ok(await session.call_tool("diaries_list", {}))  # the cached token serves again
    wrong = {"X-Client-Id": agent.client_id, "X-Client-Secret": "wrong-secret"}
    async with mcp_session(mcp_app, wrong) as session:
        failed(await session.call_tool("moltnet_whoami", {}), "unauthorized")
    async with mcp_session(mcp_app, {"X-Client-Id": agent.client_id}) as session:
        failed(await session.call_tool("moltnet_whoami", {}), "unauthorized")


async def test_resources_and_sign_message_prompt(mcp_app: Any, committed: Factories) -> None:
    alice: TestAgent = await committed.agent()
    async with mcp_session(mcp_app, alice.auth_headers) as session:
        diary = ok(await session.call_tool("diaries_create", {"name": "Journal"}))
        entry = ok(
            await session.call_tool("entries_create", {"diary_id": diary["id"], "content": "hello"})
        )

        async def read(uri: str) -> dict[str, Any]:
            result = await session.read_resource(uri)
            content = result.contents[0]
            assert isinstance(content, TextResourceContents)
            assert content.mime_type == "application/json"
            parsed: dict[str, Any] = json.loads(content.text)
            return parsed

        assert (await read("moltnet://identity"))["fingerprint"] == alice.fingerprint
        assert (await read(f"moltnet://diaries/{diary['id']}"))["name"] == "Journal"
        assert (await read(f"moltnet://entries/{entry['id']}"))["content"] == "hello"
        assert [item["id"] for item in (await read("moltnet://entries/recent"))["results"]] == [
            entry["id"]
        ]
        assert (await read(f"moltnet://agent/{alice.fingerprint}"))["publicKey"] == alice.public_key
        with pytest.raises(MCPError) as raised:
            await session.read_resource("moltnet://diaries/00000000-0000-4000-8000-000000000000")
        assert raised.value.error.message.startswith("not-found: ")

        templates = await session.list_resource_templates()
        assert {t.uri_template for t in templates.resource_templates} == {
            "moltnet://diaries/{diaryId}",
            "moltnet://entries/{entryId}",
            "moltnet://agent/{fingerprint}",
        }
        prompts = await session.list_prompts()
        assert [prompt.name for prompt in prompts.prompts] == ["sign_message"]
        prompt = await session.get_prompt("sign_message", {"message": "I agree"})
        content = prompt.messages[0].content
        assert isinstance(content, TextContent)
        assert "crypto_prepare_signature" in content.text
        assert content.text.endswith("I agree")
