"""Every long-lived resource, opened in order and closed in reverse.

``open_resources`` is the composition root of the running service: it resolves the
database (embedded or external), migrates, builds the engine, resolves secrets,
builds the backends, binds the workflow dependencies and launches DBOS.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TypedDict, cast

import anyio
import structlog
from fastapi import Request
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from moltnet.backends.embedded.tokens import JwtVerifier, SigningKeySet
from moltnet.config import Settings
from moltnet.db import migrations
from moltnet.db.postgres import EmbeddedPostgres
from moltnet.db.session import create_engine, create_sessionmaker, sync_url
from moltnet.server_secrets import load_signing_keys_text, resolve_secrets, store_signing_keys_text
from moltnet.services.authentication import JwtAuthenticator, TokenAuthenticator
from moltnet.workflows import context as workflow_context
from moltnet.workflows import runtime
from moltnet.workflows.enqueue import Enqueuer

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReadinessProbe:
    """How ``GET /health/ready`` checks one component."""

    check: Callable[[], Awaitable[None]]  # raises when the component is not usable
    backend: str | None = None  # "embedded" | "ory" for the Ory roles


class AppState(TypedDict):
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    enqueuer: Enqueuer
    secrets: dict[str, SecretStr]
    signing_keys: SigningKeySet
    authenticator: TokenAuthenticator
    probes: dict[str, ReadinessProbe]
    started_at: float


def app_state(request: Request) -> AppState:
    return cast(AppState, request.state._state)


async def resolve_database_url(
    settings: Settings, stack: AsyncExitStack, *, own_server: bool
) -> str:
    """The configured DATABASE_URL, or the embedded Postgres started (or attached) here."""
    if settings.database.url is not None:
        return settings.database.url.get_secret_value()
    server = EmbeddedPostgres(settings.pgdata)
    await anyio.to_thread.run_sync(server.start)
    if own_server or server.started_here:
        stack.callback(server.stop)
    await anyio.to_thread.run_sync(server.ensure_database, settings.database.name)
    return server.url(settings.database.name, driver="asyncpg")


def migrate_database(url: str) -> None:
    """Apply the app migrations and the DBOS system schema (idempotent)."""
    migrations.upgrade(url)
    runtime.migrate_system_schema(sync_url(url))


def load_signing_keys(settings: Settings) -> SigningKeySet:
    """The embedded issuer's key set: configured, kept under MOLTNET_HOME, or new."""
    text = load_signing_keys_text(
        settings.moltnet_home, settings.oauth2.signing_keys, production=settings.is_production
    )
    if text is not None:
        return SigningKeySet.from_json(text)
    keys = SigningKeySet.generate()
    store_signing_keys_text(settings.moltnet_home, keys.to_json())
    return keys


def build_authenticator(settings: Settings, signing_keys: SigningKeySet) -> TokenAuthenticator:
    async def local_jwks() -> dict[str, object]:
        return dict(signing_keys.public_jwks())

    verifier = JwtVerifier(local_jwks, issuer=settings.issuer, audience=settings.oauth2.audience)
    return JwtAuthenticator(verifier)


@asynccontextmanager
async def open_resources(
    settings: Settings,
    *,
    launch_workflows: bool = True,
    own_database_server: bool = False,
) -> AsyncIterator[AppState]:
    async with AsyncExitStack() as stack:
        started = time.monotonic()
        url = await resolve_database_url(settings, stack, own_server=own_database_server)
        if settings.database.migrate_on_start:
            await anyio.to_thread.run_sync(migrate_database, url)

        engine = create_engine(
            url, pool_size=settings.database.pool_size, max_overflow=settings.database.max_overflow
        )
        stack.push_async_callback(engine.dispose)
        sessionmaker = create_sessionmaker(engine)

        secrets = resolve_secrets(
            settings.moltnet_home,
            {
                "RECOVERY_CHALLENGE_SECRET": settings.recovery.challenge_secret,
                "ORY_ACTION_API_KEY": settings.ory.action_api_key,
            },
            production=settings.is_production,
        )

        signing_keys = load_signing_keys(settings)
        authenticator = build_authenticator(settings, signing_keys)

        system_url = sync_url(url)
        if launch_workflows:
            client = await runtime.launch(
                system_url,
                app_version=settings.dbos.application_version,
                queue_polling_seconds=settings.dbos.queue_polling_seconds,
            )
            stack.callback(runtime.shutdown)
        else:
            client = runtime.client_only(system_url)
        stack.callback(client.destroy)
        enqueuer = Enqueuer(client=client, app_version=settings.dbos.application_version)
        workflow_context.bind(workflow_context.WorkflowDeps(sessionmaker, enqueuer))
        stack.callback(workflow_context.bind, None)

        async def database_ready() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        async def dbos_ready() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1 FROM dbos.workflow_status LIMIT 1"))

        probes: dict[str, ReadinessProbe] = {
            "database": ReadinessProbe(database_ready),
            "dbos": ReadinessProbe(dbos_ready),
        }
        state: AppState = {
            "settings": settings,
            "engine": engine,
            "sessionmaker": sessionmaker,
            "enqueuer": enqueuer,
            "secrets": secrets,
            "signing_keys": signing_keys,
            "authenticator": authenticator,
            "probes": probes,
            "started_at": time.time(),
        }
        logger.info("resources ready", seconds=round(time.monotonic() - started, 3))
        yield state
