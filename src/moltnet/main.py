"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from moltnet.api.exception_handlers import install_exception_handlers
from moltnet.api.middleware import (
    JsonBodyMiddleware,
    RequestIdMiddleware,
    ResponseHeadersMiddleware,
)
from moltnet.api.routers import ROUTERS
from moltnet.config import APP_VERSION, Settings
from moltnet.lifespan import AppState, open_resources

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
    settings: Settings, *, launch_workflows: bool = True, own_database_server: bool = False
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[AppState]:
        async with open_resources(
            settings, launch_workflows=launch_workflows, own_database_server=own_database_server
        ) as state:
            yield state

    app = FastAPI(
        title="MoltNet",
        version=APP_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    mount_api(app, settings)
    return app


def mount_api(app: FastAPI, settings: Settings) -> None:
    install_exception_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    # Added last = outermost: request ids wrap everything, then headers, then the body.
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(ResponseHeadersMiddleware, hsts=settings.is_production or True)
    app.add_middleware(RequestIdMiddleware)
