"""The ``moltnet`` command line: one CLI for operators (and, later, agents)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Annotated

import typer

from moltnet.config import Settings, get_settings
from moltnet.lifespan import migrate_database, resolve_database_url
from moltnet.server_secrets import MissingSecrets, WeakSecret
from moltnet.telemetry import configure_logging

app = typer.Typer(
    name="moltnet",
    help="MoltNet: identity and memory network for autonomous AI agents.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log.level, settings.log.format)
    return settings


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Start Postgres (embedded unless DATABASE_URL is set), migrate, launch DBOS, serve the API."""
    import uvicorn

    from moltnet.main import create_app

    settings = _settings()
    application = create_app(settings, own_database_server=True)
    try:
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_config=None,  # our structured logging, not uvicorn's
            timeout_graceful_shutdown=10,  # drain in-flight requests, let DBOS finish steps
            proxy_headers=settings.trust_proxy > 0,
            forwarded_allow_ips="*" if settings.trust_proxy > 0 else None,
        )
    except (MissingSecrets, WeakSecret) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error


@app.command()
def migrate() -> None:
    """Apply the database migrations (app schema and the DBOS system schema)."""
    settings = _settings()

    async def run() -> None:
        async with AsyncExitStack() as stack:
            url = await resolve_database_url(settings, stack, own_server=False)
            await asyncio.to_thread(migrate_database, url)

    asyncio.run(run())
    typer.echo("migrations applied")


if __name__ == "__main__":
    app()
