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
import httpx
import structlog
from fastapi import Request
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from moltnet.backends.embedded.identity import EmbeddedIdentityBackend
from moltnet.backends.embedded.oauth2 import EmbeddedOAuth2Backend
from moltnet.backends.embedded.permissions import EmbeddedPermissionBackend
from moltnet.backends.embedded.tokens import JwtVerifier, SigningKeySet
from moltnet.backends.ory.hydra import HydraOAuth2Backend
from moltnet.backends.ory.keto import KetoPermissionBackend
from moltnet.backends.ory.kratos import KratosIdentityBackend
from moltnet.backends.protocols import IdentityBackend, OAuth2Backend, PermissionBackend
from moltnet.config import BackendKind, Settings
from moltnet.db import migrations
from moltnet.db.postgres import EmbeddedPostgres
from moltnet.db.session import create_engine, create_sessionmaker, sync_url
from moltnet.embedding.onnx import open_onnx_embedder
from moltnet.embedding.protocol import EMBEDDING_DIMENSIONS, Embedder
from moltnet.errors import UpstreamError
from moltnet.server_secrets import (
    MissingSecrets,
    load_signing_keys_text,
    resolve_secrets,
    store_signing_keys_text,
)
from moltnet.services.authentication import JwtAuthenticator, TokenAuthenticator
from moltnet.workflows import context as workflow_context
from moltnet.workflows import maintenance, runtime
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
    permissions: PermissionBackend
    embedder: Embedder
    oauth2: OAuth2Backend
    identity: IdentityBackend
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


def preflight(settings: Settings) -> None:
    """Refuse to start production without its secrets, naming every missing one at once."""
    if not settings.is_production:
        return
    required = {
        "RECOVERY_CHALLENGE_SECRET": settings.recovery.challenge_secret,
        "ORY_ACTION_API_KEY": settings.ory.action_api_key,
    }
    if settings.oauth2.backend is BackendKind.embedded:
        required["OAUTH2_SIGNING_KEYS"] = settings.oauth2.signing_keys
    missing = sorted(name for name, value in required.items() if value is None)
    if missing:
        raise MissingSecrets(missing)


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


def build_authenticator(
    settings: Settings,
    signing_keys: SigningKeySet,
    *,
    oauth2: OAuth2Backend | None = None,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> TokenAuthenticator:
    """Embedded mode verifies against our own key set; Ory mode against Hydra's JWKS."""

    async def local_jwks() -> dict[str, object]:
        return dict(signing_keys.public_jwks())

    fetch_jwks = local_jwks
    jwks_url = settings.oauth2.jwks_url
    if settings.oauth2.backend is BackendKind.ory:
        jwks_url = jwks_url or settings.ory.hydra_public_url.rstrip("/") + "/.well-known/jwks.json"

        async def hydra_jwks() -> dict[str, object]:
            return await fetch_remote_jwks(jwks_url, timeout_seconds=settings.ory.timeout_seconds)

        fetch_jwks = hydra_jwks
    verifier = JwtVerifier(fetch_jwks, issuer=settings.issuer, audience=settings.oauth2.audience)
    return JwtAuthenticator(verifier, oauth2=oauth2, sessionmaker=sessionmaker)


async def fetch_remote_jwks(url: str, *, timeout_seconds: float) -> dict[str, object]:
    """A JWKS document over HTTP; failures are the issuer's, so 502 rather than 401."""
    try:
        async with httpx.AsyncClient(timeout=timeout_seconds) as http:
            response = await http.get(url)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError):
        raise UpstreamError("the OAuth2 issuer's key set is unavailable") from None
    if not isinstance(document, dict):
        raise UpstreamError("the OAuth2 issuer's key set is unreadable")
    return document


async def open_oauth2_backend(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    signing_keys: SigningKeySet,
    stack: AsyncExitStack,
) -> OAuth2Backend:
    """OAUTH2_BACKEND: our own issuer (embedded) or Ory Hydra (ory)."""
    if settings.oauth2.backend is BackendKind.ory:
        api_key = settings.ory.api_key
        hydra = HydraOAuth2Backend(
            settings.ory.hydra_admin_url,
            settings.ory.hydra_public_url,
            api_key=api_key.get_secret_value() if api_key is not None else None,
            timeout=settings.ory.timeout_seconds,
        )
        stack.push_async_callback(hydra.aclose)
        return hydra
    return EmbeddedOAuth2Backend(
        sessionmaker,
        signing_keys=signing_keys,
        issuer=settings.issuer,
        audience=settings.token_audience,
        verify_audience=settings.oauth2.audience,
        access_token_ttl_seconds=settings.oauth2.access_token_ttl_seconds,
    )


async def open_permission_backend(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    stack: AsyncExitStack,
) -> PermissionBackend:
    """PERMISSIONS_BACKEND: our relation-tuple table (embedded) or Ory Keto (ory)."""
    if settings.permissions.backend is BackendKind.ory:
        keto = KetoPermissionBackend(
            settings.ory.keto_read_url,
            settings.ory.keto_write_url,
            timeout=settings.ory.timeout_seconds,
        )
        stack.push_async_callback(keto.aclose)
        return keto
    return EmbeddedPermissionBackend(sessionmaker)


def open_identity_backend(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], stack: AsyncExitStack
) -> IdentityBackend:
    """IDENTITY_BACKEND: our identities table (embedded) or Ory Kratos's admin API (ory)."""
    if settings.identity.backend is BackendKind.ory:
        api_key = settings.ory.api_key
        kratos = KratosIdentityBackend(
            settings.ory.kratos_admin_url,
            api_key=api_key.get_secret_value() if api_key is not None else None,
            timeout=settings.ory.timeout_seconds,
        )
        stack.push_async_callback(kratos.aclose)
        return kratos
    return EmbeddedIdentityBackend(sessionmaker, public_base_url=settings.public_base_url)


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
        oauth2 = await open_oauth2_backend(settings, sessionmaker, signing_keys, stack)
        authenticator = build_authenticator(
            settings, signing_keys, oauth2=oauth2, sessionmaker=sessionmaker
        )

        permissions = await open_permission_backend(settings, sessionmaker, stack)
        identity = open_identity_backend(settings, sessionmaker, stack)

        embedder: Embedder = await open_onnx_embedder(
            settings.embed.model_path,
            settings.embed.tokenizer_path,
            model_id=settings.embed.model_id,
            threads=settings.embed.threads,
            max_concurrent=settings.embed.max_concurrent,
        )

        system_url = sync_url(url)
        # The client enqueues on the request's connection; it needs only the system
        # schema, so it exists before (and without) this process executing workflows.
        client = runtime.client_only(system_url)
        stack.callback(client.destroy)
        enqueuer = Enqueuer(client=client, app_version=settings.dbos.application_version)
        # Bound before launch: DBOS recovers pending workflows during launch, and their
        # steps must find their dependencies at once.
        workflow_context.bind(
            workflow_context.WorkflowDeps(
                sessionmaker,
                enqueuer,
                extras={
                    "embedder": embedder,
                    "permissions": permissions,
                    "oauth2": oauth2,
                    "identity": identity,
                    # a crash-test hook: a pause inside a registration step (never in production)
                    "registration_step_delay": 0.0
                    if settings.is_production
                    else settings.identity.test_step_delay_seconds,
                },
            )
        )
        stack.callback(workflow_context.bind, None)
        if launch_workflows:
            await runtime.launch(
                system_url,
                app_version=settings.dbos.application_version,
                queue_polling_seconds=settings.dbos.queue_polling_seconds,
                enable_otlp=settings.otel.enabled,
            )
            stack.push_async_callback(runtime.shutdown)
            await maintenance.apply_schedule()

        async def database_ready() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        async def dbos_ready() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1 FROM dbos.workflow_status LIMIT 1"))

        async def embedder_ready() -> None:
            # loaded and answering with vectors of the column's width
            vector = await embedder.embed_query("readiness probe")
            if len(vector) != EMBEDDING_DIMENSIONS:
                raise RuntimeError(f"embedder produces {len(vector)}-d vectors")

        probes: dict[str, ReadinessProbe] = {
            "database": ReadinessProbe(database_ready),
            "dbos": ReadinessProbe(dbos_ready),
            "embedder": ReadinessProbe(embedder_ready),
            "permissions": ReadinessProbe(
                permissions.ping, backend=settings.permissions.backend.value
            ),
            "oauth2": ReadinessProbe(oauth2.ping, backend=settings.oauth2.backend.value),
            "identity": ReadinessProbe(identity.ping, backend=settings.identity.backend.value),
        }
        state: AppState = {
            "settings": settings,
            "engine": engine,
            "sessionmaker": sessionmaker,
            "enqueuer": enqueuer,
            "secrets": secrets,
            "signing_keys": signing_keys,
            "authenticator": authenticator,
            "permissions": permissions,
            "embedder": embedder,
            "oauth2": oauth2,
            "identity": identity,
            "probes": probes,
            "started_at": time.time(),
        }
        logger.info("resources ready", seconds=round(time.monotonic() - started, 3))
        yield state
