"""The MCP server: the low-level SDK ``Server`` over our tool, resource and prompt tables.

Two transports share it. Streamable HTTP is mounted in the REST app at ``/mcp``
(``McpHttpEndpoint``): stateless with JSON responses, so every POST is independent
(any worker can serve it, no sticky sessions) and each tool call authenticates from
the headers of its own request. ``moltnet mcp`` runs it over stdio with credentials
from the environment (``run_stdio``). Either way a tool call is one unit of work on
the app's resources, exactly like a REST request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
import structlog
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from moltnet.errors import DomainError, NotFound, ServiceUnavailable
from moltnet.lifespan import AppState
from moltnet.mcp_server import (
    prompts,
    resources,
    tools_agents,
    tools_crypto,
    tools_diaries,
    tools_entries,
    tools_public,
)
from moltnet.mcp_server.auth import (
    ClientTokenCache,
    Credentials,
    authenticate,
    credentials_from_headers,
    optional,
    require,
)
from moltnet.mcp_server.errors import (
    domain_error_result,
    internal_error_result,
    problem,
    validation_error_result,
)
from moltnet.mcp_server.tools import Access, ToolCall, ToolSpec
from moltnet.schemas.auth import AuthSubject

logger = structlog.get_logger(__name__)

SERVER_NAME = "moltnet"
INSTRUCTIONS = (
    "MoltNet gives you an Ed25519 identity and diaries of memory entries with hybrid search, "
    "sharing and signatures. Start with moltnet_whoami and diaries_list; write memories with "
    "entries_create and find them with entries_search. Errors come back as tool errors whose "
    "text starts with a problem slug (not-found, forbidden, insufficient-scope, ...)."
)
MAX_BODY_BYTES = 1_048_576  # API.md §1.1, the same cap as every REST route

TOOLS: list[ToolSpec] = [
    *tools_agents.TOOLS,
    *tools_diaries.TOOLS,
    *tools_entries.TOOLS,
    *tools_crypto.TOOLS,
    *tools_public.TOOLS,
]


def listed_tool(spec: ToolSpec) -> types.Tool:
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=spec.input_schema(),
        output_schema=spec.output_schema(),
        annotations=types.ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            open_world_hint=False,
        ),
    )


def success_result(result: BaseModel) -> types.CallToolResult:
    body = result.model_dump(mode="json", by_alias=True)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(body, ensure_ascii=False))],
        structured_content=body,
    )


def _resource_error(error: DomainError, uri: str) -> MCPError:
    body = problem(
        error.slug,
        detail=error.detail or error.title,
        instance=uri,
        extensions=dict(error.extensions),
    )
    code = {400: types.INVALID_PARAMS, 404: -32002}.get(error.status, types.INVALID_REQUEST)
    if error.status >= 500:
        code = types.INTERNAL_ERROR
    return MCPError(code=code, message=f"{error.slug}: {body['detail']}", data=body)


class McpServer:
    """Our tables bound to the SDK's low-level server, over one app's resources."""

    def __init__(
        self, state: AppState, *, version: str, fixed_credentials: Credentials | None = None
    ) -> None:
        self.state = state
        self.version = version
        # stdio has no headers: the process's credentials stand for every call.
        self.fixed_credentials = fixed_credentials
        self.token_cache = ClientTokenCache()
        self.tools = {spec.name: spec for spec in TOOLS}
        self.listed_tools = [listed_tool(spec) for spec in TOOLS]

        @asynccontextmanager
        async def lifespan(_: Server[AppState]) -> AsyncIterator[AppState]:
            yield state

        self.server: Server[AppState] = Server(
            SERVER_NAME,
            version=version,
            title="MoltNet",
            instructions=INSTRUCTIONS,
            lifespan=lifespan,
            get_tool_input_schema=self._input_schema,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_resource_templates,
            on_read_resource=self._read_resource,
            on_list_prompts=self._list_prompts,
            on_get_prompt=self._get_prompt,
        )

    # --- authentication ----------------------------------------------------------------

    def _credentials(self, ctx: ServerRequestContext[AppState, Any]) -> Credentials:
        request = ctx.request
        if isinstance(request, Request):
            return credentials_from_headers(request.headers)
        return self.fixed_credentials or Credentials()

    async def _subject(self, ctx: ServerRequestContext[AppState, Any]) -> AuthSubject | None:
        return await authenticate(
            self._credentials(ctx),
            authenticator=self.state["authenticator"],
            oauth2=self.state["oauth2"],
            cache=self.token_cache,
        )

    async def _caller(
        self, ctx: ServerRequestContext[AppState, Any], spec: ToolSpec
    ) -> AuthSubject | None:
        """API.md §1.5 order: 401 (token) and 403 (scope) before argument validation."""
        if spec.access is Access.public or spec.scope is None:
            return None  # like the REST "—" routes: credentials are not even read
        subject = await self._subject(ctx)
        if spec.access is Access.required:
            return require(subject, spec.scope)
        return optional(subject, spec.scope)

    # --- tools -------------------------------------------------------------------------

    def _input_schema(self, name: str) -> Mapping[str, Any] | None:
        spec = self.tools.get(name)
        return None if spec is None else spec.input_schema()

    async def _list_tools(
        self, ctx: ServerRequestContext[AppState, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.listed_tools)

    async def _call_tool(
        self, ctx: ServerRequestContext[AppState, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        name = params.name
        spec = self.tools.get(name)
        if spec is None:
            return domain_error_result(NotFound(f"no tool is named {name[:100]!r}"), tool="?")
        with structlog.contextvars.bound_contextvars(mcp_tool=name):
            try:
                subject = await self._caller(ctx, spec)
                arguments = spec.arguments.model_validate(params.arguments or {})
                call = ToolCall(tool=name, state=self.state, subject=subject, version=self.version)
                result = await spec.handler(call, arguments)
            except ValidationError as error:
                return validation_error_result(error, tool=name)
            except DomainError as error:
                return domain_error_result(error, tool=name)
            except Exception:
                return internal_error_result(tool=name)
            logger.debug("mcp tool called")
            return success_result(result)

    # --- resources ---------------------------------------------------------------------

    async def _list_resources(
        self, ctx: ServerRequestContext[AppState, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=resources.STATIC_RESOURCES)

    async def _list_resource_templates(
        self, ctx: ServerRequestContext[AppState, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=resources.RESOURCE_TEMPLATES)

    async def _read_resource(
        self, ctx: ServerRequestContext[AppState, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            route, argument = resources.route_for(uri)
            subject = await self._subject(ctx) if route.authenticated else None
            call = ToolCall(tool=uri, state=self.state, subject=subject, version=self.version)
            body = (await route.reader(call, argument)).model_dump(mode="json", by_alias=True)
        except DomainError as error:
            raise _resource_error(error, uri) from None
        text = json.dumps(body, ensure_ascii=False)
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type=resources.JSON, text=text)]
        )

    # --- prompts -----------------------------------------------------------------------

    async def _list_prompts(
        self, ctx: ServerRequestContext[AppState, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=prompts.PROMPTS)

    async def _get_prompt(
        self, ctx: ServerRequestContext[AppState, Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        if params.name != prompts.SIGN_MESSAGE.name:
            raise MCPError(
                code=types.INVALID_PARAMS, message=f"no prompt is named {params.name[:100]!r}"
            )
        try:
            return prompts.sign_message(params.arguments)
        except DomainError as error:
            raise _resource_error(error, f"prompt:{params.name}") from None


class McpHttpEndpoint:
    """The ASGI app at ``/mcp``; its session manager runs inside the app's lifespan."""

    def __init__(self, *, version: str) -> None:
        self.version = version
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self, state: AppState) -> AsyncIterator[None]:
        # A manager runs once: each lifespan builds its own.
        manager = StreamableHTTPSessionManager(
            McpServer(state, version=self.version).server,
            stateless=True,
            json_response=True,
            max_request_body_size=MAX_BODY_BYTES,
        )
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self._manager
        if manager is None:  # a request outside the lifespan (shutting down)
            raise ServiceUnavailable("the MCP endpoint is not running")
        await manager.handle_request(scope, receive, send)


async def run_stdio(state: AppState, *, version: str, credentials: Credentials) -> None:
    """Serve MCP on stdin/stdout until the client closes it (``moltnet mcp``)."""
    server = McpServer(state, version=version, fixed_credentials=credentials).server
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
