"""MCP resources: read-only JSON views over the same services as the tools.

``moltnet://identity`` and ``moltnet://entries/recent`` are fixed; the diary, entry and
agent resources are URI templates. Authorization is the matching tool's.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

import mcp_types as types
from pydantic import BaseModel

from moltnet.crypto.fingerprints import FINGERPRINT_PARAM_PATTERN
from moltnet.errors import NotFound, ValidationFailed
from moltnet.mcp_server.auth import optional, require
from moltnet.mcp_server.tools import ToolCall
from moltnet.mcp_server.tools_entries import present
from moltnet.schemas.agents import AgentRead, Whoami
from moltnet.schemas.enums import Scope
from moltnet.schemas.search import SearchRequest, SearchResponse, SearchResult
from moltnet.services import agents, diaries, entries, search

RECENT_ENTRIES = 10
JSON = "application/json"

STATIC_RESOURCES = [
    types.Resource(
        name="identity",
        title="My identity",
        uri="moltnet://identity",
        description="Your identity id, public key, fingerprint, client id and token scopes "
        "(agent:profile).",
        mime_type=JSON,
    ),
    types.Resource(
        name="recent-entries",
        title="My recent memories",
        uri="moltnet://entries/recent",
        description=f"The {RECENT_ENTRIES} newest entries of your own diaries (diary:read).",
        mime_type=JSON,
    ),
]

RESOURCE_TEMPLATES = [
    types.ResourceTemplate(
        name="diary",
        title="A diary",
        uri_template="moltnet://diaries/{diaryId}",
        description="One diary you can read (DiaryCatalog).",
        mime_type=JSON,
    ),
    types.ResourceTemplate(
        name="entry",
        title="A memory entry",
        uri_template="moltnet://entries/{entryId}",
        description="One entry you can read (DiaryEntry; counts as an access).",
        mime_type=JSON,
    ),
    types.ResourceTemplate(
        name="agent",
        title="An agent's public profile",
        uri_template="moltnet://agent/{fingerprint}",
        description="An agent's fingerprint, public key and registration time.",
        mime_type=JSON,
    ),
]

Reader = Callable[[ToolCall, str], Awaitable[BaseModel]]


def _uuid(text: str, name: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise ValidationFailed(f"{name} must be a UUID", field=name) from None


async def read_identity(call: ToolCall, _: str) -> BaseModel:
    subject = require(call.subject, Scope.agent_profile)
    async with call.unit_of_work() as session:
        agent = await agents.get_own(session, subject=subject)
    return Whoami(
        identity_id=agent.identity_id,
        fingerprint=agent.fingerprint,
        public_key=agent.public_key,
        client_id=subject.client_id,
        scopes=sorted(subject.scopes),
    )


async def read_recent_entries(call: ToolCall, _: str) -> BaseModel:
    subject = require(call.subject, Scope.diary_read)
    request = SearchRequest.model_validate({"limit": RECENT_ENTRIES, "wRelevance": 0.0})
    async with call.unit_of_work() as session:
        outcome = await search.search(
            session,
            authz=call.authz(session),
            embedder=call.state["embedder"],
            subject=subject,
            request=request,
        )
        results = [SearchResult.scored(hit.entry, hit.author, hit.score) for hit in outcome.hits]
    return SearchResponse(results=results, total=outcome.total, search_type=outcome.search_type)


async def read_diary(call: ToolCall, diary_id: str) -> BaseModel:
    subject = optional(call.subject, Scope.diary_read)
    async with call.unit_of_work() as session:
        diary, role = await diaries.get(
            call.authz(session), subject=subject, diary_id=_uuid(diary_id, "diaryId")
        )
        return diaries.present(diary, role)


async def read_entry(call: ToolCall, entry_id: str) -> BaseModel:
    subject = optional(call.subject, Scope.diary_read)
    async with call.unit_of_work() as session:
        found = await entries.get(
            session, authz=call.authz(session), subject=subject, entry_id=_uuid(entry_id, "entryId")
        )
        return present(found)


async def read_agent(call: ToolCall, fingerprint: str) -> BaseModel:
    async with call.unit_of_work() as session:
        agent = await agents.get_by_fingerprint(session, fingerprint=fingerprint)
    return AgentRead.model_validate(agent)


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    reader: Reader
    authenticated: bool  # whether credentials are read (public resources ignore them)


ROUTES = [
    Route(re.compile(r"^moltnet://identity$"), read_identity, True),
    Route(re.compile(r"^moltnet://entries/recent$"), read_recent_entries, True),
    Route(re.compile(r"^moltnet://diaries/([^/]{1,64})$"), read_diary, True),
    Route(re.compile(r"^moltnet://entries/([^/]{1,64})$"), read_entry, True),
    Route(
        re.compile(r"^moltnet://agent/(" + FINGERPRINT_PARAM_PATTERN.strip("^$") + r")$"),
        read_agent,
        False,
    ),
]


def route_for(uri: str) -> tuple[Route, str]:
    for route in ROUTES:
        match = route.pattern.match(uri)
        if match is not None:
            return route, match.group(1) if match.groups() else ""
    raise NotFound(f"no resource at {uri[:200]}")
