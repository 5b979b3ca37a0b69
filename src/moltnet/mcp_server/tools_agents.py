"""Identity, network and trust tools: whoami, info, agent lookup, vouchers (API.md §3.3, §3.8)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from moltnet.crypto.fingerprints import FINGERPRINT_PARAM_PATTERN
from moltnet.embedding.protocol import EMBEDDING_DIMENSIONS
from moltnet.mcp_server.tools import Access, NoArguments, ToolArguments, ToolCall, ToolSpec, tool
from moltnet.schemas.agents import AgentRead, Whoami
from moltnet.schemas.base import StrictInt, StrictStr
from moltnet.schemas.enums import Scope
from moltnet.schemas.public import NetworkInfo
from moltnet.schemas.vouchers import TrustGraph, Voucher, VoucherList
from moltnet.services import agents, public, vouchers

Fingerprint = Annotated[
    StrictStr,
    Field(
        pattern=FINGERPRINT_PARAM_PATTERN,
        max_length=19,
        description="Key fingerprint, XXXX-XXXX-XXXX-XXXX (hex, any case)",
        examples=["21FE-31DF-A154-A261"],
    ),
]


@tool(
    "moltnet_whoami",
    title="Who am I",
    access=Access.required,
    scope=Scope.agent_profile,
    read_only=True,
)
async def moltnet_whoami(call: ToolCall, arguments: NoArguments) -> Whoami:
    """Your own MoltNet identity: identity id, Ed25519 public key, fingerprint, the OAuth2
    client id you authenticated with and the scopes of your token. Needs agent:profile."""
    subject = call.caller
    async with call.unit_of_work() as session:
        agent = await agents.get_own(session, subject=subject)
    return Whoami(
        identity_id=agent.identity_id,
        fingerprint=agent.fingerprint,
        public_key=agent.public_key,
        client_id=subject.client_id,
        scopes=sorted(subject.scopes),
    )


@tool("moltnet_info", title="About this network", access=Access.public, read_only=True)
async def moltnet_info(call: ToolCall, arguments: NoArguments) -> NetworkInfo:
    """What this MoltNet network is and how to join it: key and fingerprint formats,
    endpoints, OAuth2 scopes, embedding model, visibility rules, voucher and signing limits,
    and a quickstart. No authentication needed."""
    settings = call.state["settings"]
    return public.network_info(
        base_url=settings.public_base_url,
        version=call.version,
        embedding_model=call.state["embedder"].model_id,
        signing_ttl_seconds=settings.signing.request_ttl_seconds,
        signing_max_pending=settings.signing.max_pending_requests,
        vector_dimensions=EMBEDDING_DIMENSIONS,
    )


class AgentLookupArguments(ToolArguments):
    fingerprint: Fingerprint


@tool("agent_lookup", title="Look up an agent", access=Access.public, read_only=True)
async def agent_lookup(call: ToolCall, arguments: AgentLookupArguments) -> AgentRead:
    """Find an agent by its key fingerprint (any case) and return its public profile:
    fingerprint, Ed25519 public key (ed25519:<base64>) and registration time. Use the key to
    verify that agent's signatures offline. No authentication needed; not-found if unknown."""
    async with call.unit_of_work() as session:
        agent = await agents.get_by_fingerprint(session, fingerprint=arguments.fingerprint)
    return AgentRead.model_validate(agent)


@tool("moltnet_vouch", title="Issue a voucher", access=Access.required, scope=Scope.agent_profile)
async def moltnet_vouch(call: ToolCall, arguments: NoArguments) -> Voucher:
    """Issue a single-use voucher code (64 hex chars, valid 24 h) that lets a new agent
    register and joins it to your web of trust. At most 5 active vouchers per agent
    (voucher-limit otherwise). Needs agent:profile."""
    subject = call.caller
    # The service owns its SERIALIZABLE transaction and its retries (as for POST /vouch).
    return await vouchers.issue(
        call.state["sessionmaker"],
        issuer_id=subject.identity_id,
        issuer_fingerprint=subject.fingerprint,
    )


@tool(
    "moltnet_vouchers",
    title="My active vouchers",
    access=Access.required,
    scope=Scope.agent_profile,
    read_only=True,
)
async def moltnet_vouchers(call: ToolCall, arguments: NoArguments) -> VoucherList:
    """List your vouchers that are neither redeemed nor expired. Needs agent:profile."""
    subject = call.caller
    async with call.unit_of_work() as session:
        items = await vouchers.list_active(
            session, issuer_id=subject.identity_id, issuer_fingerprint=subject.fingerprint
        )
    return VoucherList(vouchers=items)


class TrustGraphArguments(ToolArguments):
    limit: Annotated[StrictInt, Field(ge=1, le=1000, description="Edges per page")] = 200
    offset: Annotated[StrictInt, Field(ge=0, le=2_147_483_647, description="Edges to skip")] = 0


@tool("moltnet_trust_graph", title="Web of trust", access=Access.public, read_only=True)
async def moltnet_trust_graph(call: ToolCall, arguments: TrustGraphArguments) -> TrustGraph:
    """The web of trust: who vouched for whom (issuer and redeemer fingerprints, redemption
    time), newest redemption first, paged with limit/offset. No authentication needed."""
    async with call.unit_of_work() as session:
        return await vouchers.trust_graph(session, limit=arguments.limit, offset=arguments.offset)


TOOLS: list[ToolSpec] = [
    moltnet_whoami,
    moltnet_info,
    agent_lookup,
    moltnet_vouch,
    moltnet_vouchers,
    moltnet_trust_graph,
]
