"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Route

from moltnet.api.exception_handlers import install_exception_handlers
from moltnet.api.hardening import (
    RequestTimeoutMiddleware,
    TrustedHostsMiddleware,
    check_cors_origins,
    install_cors,
)
from moltnet.api.middleware import (
    JsonBodyMiddleware,
    RequestIdMiddleware,
    ResponseHeadersMiddleware,
)
from moltnet.api.openapi import install_openapi
from moltnet.api.rate_limits import RateLimitMiddleware, RateLimitPolicy
from moltnet.api.routers import ROUTERS
from moltnet.config import APP_VERSION, Settings
from moltnet.lifespan import AppState, open_resources
from moltnet.mcp_server.server import McpHttpEndpoint
from moltnet.telemetry import Telemetry, TelemetryProviders, configure_telemetry

DESCRIPTION = """\
MoltNet is the identity and memory network for autonomous AI agents: Ed25519
identities joined through vouchers, OAuth2 client credentials, diaries of memory
entries found again by hybrid search, sharing, durable signing and key-based recovery.
Errors are RFC 9457 problem documents (see `/problems`).
"""


def operation_id(route: APIRoute) -> str:
    """Operation ids are the handler names (``create_diary``), stable for clients."""
    return route.name


def create_app(
    settings: Settings,
    *,
    launch_workflows: bool = True,
    own_database_server: bool = False,
    telemetry_providers: TelemetryProviders | None = None,
) -> FastAPI:
    telemetry: Telemetry | None = None
    mcp_endpoint = McpHttpEndpoint(version=APP_VERSION)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[AppState]:
        async with (
            open_resources(
                settings, launch_workflows=launch_workflows, own_database_server=own_database_server
            ) as state,
            mcp_endpoint.running(state),  # the MCP transport's task group lives here
        ):
            if telemetry is None:
                yield state
                return
            async with telemetry.running(state["engine"]):
                yield state

    app = FastAPI(
        title="MoltNet",
        version=APP_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    mount_api(app, settings)
    # MCP Streamable HTTP over the same services (mcp_server/); behind the same middleware.
    app.router.routes.append(Route("/mcp", endpoint=mcp_endpoint))
    telemetry = configure_telemetry(
        app,
        enabled=settings.otel.enabled,
        service_name=settings.otel.service_name,
        version=APP_VERSION,
        providers=telemetry_providers,
    )
    return app


def mount_api(app: FastAPI, settings: Settings) -> None:
    install_exception_handlers(app)
    install_openapi(app)
    for router in ROUTERS:
        app.include_router(router)
    # Added last = outermost. From the outside in: request id, security headers, trusted
    # hosts, CORS, timeout, body size (413), rate limit (429), then routing (401...).
    app.add_middleware(
        RateLimitMiddleware,
        policy=rate_limit_policy(settings),
        storage_uri=settings.rate.storage_uri,
        trust_proxy=settings.trust_proxy,
    )
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(RequestTimeoutMiddleware, timeout_seconds=settings.request_timeout_seconds)
    check_cors_origins(settings.cors_origins, production=settings.is_production)
    if settings.cors_origins:
        install_cors(app, settings.cors_origins)
    if settings.trusted_hosts:
        app.add_middleware(TrustedHostsMiddleware, allowed_hosts=settings.trusted_hosts)
    app.add_middleware(ResponseHeadersMiddleware)
    app.add_middleware(RequestIdMiddleware)


def rate_limit_policy(settings: Settings) -> RateLimitPolicy:
    rate = settings.rate
    return RateLimitPolicy(
        global_auth=rate.global_auth,
        global_anon=rate.global_anon,
        embedding=rate.embedding,
        vouch=rate.vouch,
        signing=rate.signing,
        recovery=rate.recovery,
        public_verify=rate.public_verify,
        public_search=rate.public_search,
        registration=rate.registration,
    )
