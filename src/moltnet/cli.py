"""The ``moltnet`` command line: one CLI for operators (and, later, agents)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Annotated

import typer

from moltnet.agent_cli import agent_app
from moltnet.config import Settings, get_settings

# Operator commands import the server stack (SQLAlchemy, DBOS, onnxruntime) inside their
# bodies: agent commands then start in about a second instead of eight.

app = typer.Typer(
    name="moltnet",
    help="MoltNet: identity and memory network for autonomous AI agents.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings() -> Settings:
    from moltnet.telemetry import configure_logging

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

    from moltnet.api.hardening import HardeningConfigError
    from moltnet.embedding.protocol import EmbeddingModelLoadError
    from moltnet.lifespan import preflight
    from moltnet.main import create_app
    from moltnet.server_secrets import MissingSecrets, WeakSecret

    settings = _settings()
    try:
        preflight(settings)
        check_embedder(settings)
        application = create_app(settings, own_database_server=True)
    except (MissingSecrets, WeakSecret, EmbeddingModelLoadError, HardeningConfigError) as error:
        # one line and exit 2 before any server starts, not a lifespan traceback
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    try:
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_config=None,  # our structured logging, not uvicorn's
            # Longer than a client's or proxy's idle pool timeout (Fly's is 60 s), so the
            # server never closes a connection the client is about to reuse.
            timeout_keep_alive=75,
            timeout_graceful_shutdown=10,  # drain in-flight requests, let DBOS finish steps
            proxy_headers=settings.trust_proxy > 0,
            forwarded_allow_ips="*" if settings.trust_proxy > 0 else None,
        )
    except (MissingSecrets, WeakSecret) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error


def check_embedder(settings: Settings) -> None:
    """Load a configured model and run its 384-d probe now, so a bad image fails fast.

    The lifespan loads it again (about a second): the price of an error that names the
    file. The packaged default model is not checked here.
    """
    from moltnet.embedding.onnx import OnnxModel
    from moltnet.embedding.protocol import EmbeddingModelLoadError

    if settings.embed.model_path is None and settings.embed.tokenizer_path is None:
        return
    if settings.embed.model_path is None or settings.embed.tokenizer_path is None:
        raise EmbeddingModelLoadError(
            "EMBED_MODEL_PATH and EMBED_TOKENIZER_PATH must be set together"
        )
    OnnxModel(settings.embed.model_path, settings.embed.tokenizer_path, threads=1)


@app.command("prepare-embedder")
def prepare_embedder(
    model: Annotated[Path, typer.Argument(help="fp32 ONNX encoder (384-d).")],
    tokenizer: Annotated[Path, typer.Argument(help="Its tokenizer.json.")],
    output: Annotated[Path, typer.Argument(help="Where to write the int8 model.")],
    min_cosine: Annotated[float, typer.Option(help="Minimum cosine to fp32.")] = 0.99,
    sha256: Annotated[str | None, typer.Option(help="Expected sha256 of MODEL.")] = None,
) -> None:
    """Quantize an fp32 embedding model to per-channel int8, if it stays within MIN_COSINE."""
    from moltnet.embedding import prepare
    from moltnet.embedding.protocol import EmbeddingModelLoadError

    try:
        if sha256 is not None:
            prepare.verify_sha256(model, sha256)
        report = prepare.quantize_int8(model, tokenizer, output, min_cosine=min_cosine)
    except (
        prepare.ChecksumMismatch,
        prepare.QuantizationRejected,
        EmbeddingModelLoadError,
        RuntimeError,
    ) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    typer.echo(
        f"wrote {output}: min cosine {report.min_cosine:.4f}, mean {report.mean_cosine:.4f} "
        f"over {report.sentences} sentences, {report.source_bytes} -> {report.output_bytes} bytes"
    )


@app.command()
def migrate() -> None:
    """Apply the database migrations (app schema and the DBOS system schema)."""
    from moltnet.lifespan import migrate_database, resolve_database_url

    settings = _settings()

    async def run() -> None:
        async with AsyncExitStack() as stack:
            url = await resolve_database_url(settings, stack, own_server=False)
            await asyncio.to_thread(migrate_database, url)

    asyncio.run(run())
    typer.echo("migrations applied")


@app.command()
def reembed(
    batch_size: Annotated[int, typer.Option(min=1, max=1024, help="Entries per commit.")] = 64,
) -> None:
    """Re-embed every entry whose vector is missing or was made by another model.

    Run after changing EMBED_MODEL_PATH: search refuses to compare vectors of two
    models. Commits once per batch, so an interrupted run resumes where it stopped.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from moltnet.db.session import create_engine, create_sessionmaker
    from moltnet.embedding.onnx import open_onnx_embedder
    from moltnet.lifespan import resolve_database_url
    from moltnet.services import entries

    settings = _settings()

    async def run() -> int:
        async with AsyncExitStack() as stack:
            url = await resolve_database_url(settings, stack, own_server=False)
            engine = create_engine(url, pool_size=2, max_overflow=0)
            stack.push_async_callback(engine.dispose)
            embedder = await open_onnx_embedder(
                settings.embed.model_path,
                settings.embed.tokenizer_path,
                model_id=settings.embed.model_id,
                threads=settings.embed.threads,
                max_concurrent=settings.embed.max_concurrent,
            )
            typer.echo(f"re-embedding with {embedder.model_id}")
            columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
            with Progress(*columns, TimeRemainingColumn()) as progress:
                task = progress.add_task("entries", total=None)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=max(total, done))

                return await entries.reembed_stale(
                    create_sessionmaker(engine),
                    embedder,
                    batch_size=batch_size,
                    progress=advance,
                )

    done = asyncio.run(run())
    typer.echo(f"{done} entries re-embedded")


@app.command("rotate-signing-keys")
def rotate_signing_keys() -> None:
    """Rotate the embedded OAuth2 issuer's signing key (development: the set in MOLTNET_HOME).

    The old key stays in the JWKS as a previous key, so tokens it signed keep verifying
    until they expire. A running server signs with the new key after its next start.
    """
    from moltnet.lifespan import load_signing_keys
    from moltnet.server_secrets import store_signing_keys_text

    settings = _settings()
    if settings.is_production or settings.oauth2.signing_keys is not None:
        typer.echo(
            "error: the key set comes from OAUTH2_SIGNING_KEYS; rotate it where it is kept",
            err=True,
        )
        raise typer.Exit(code=2)
    rotated = load_signing_keys(settings).rotate()
    store_signing_keys_text(settings.moltnet_home, rotated.to_json())
    previous = ", ".join(str(key.kid) for key in rotated.previous)
    typer.echo(f"signing key rotated: current {rotated.current.kid}; previous {previous}")


@app.command()
def genesis(
    public_key: Annotated[
        str, typer.Option("--public-key", help="The genesis agent's key, ed25519:<base64>.")
    ],
    vouchers: Annotated[
        int, typer.Option("--vouchers", min=0, max=1000, help="Fresh vouchers to issue.")
    ] = 1,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")
    ] = False,
    rotate_secret: Annotated[
        bool, typer.Option("--rotate-secret", help="Issue a new secret for an existing agent.")
    ] = False,
) -> None:
    """Bootstrap a genesis agent (no voucher needed) and print its credentials and vouchers.

    Running it again for the same key finds the agent, issues new vouchers and prints
    clientSecret null (secrets are stored hashed) unless --rotate-secret is given.
    """
    import json

    from moltnet.crypto import InvalidPublicKey, parse_public_key
    from moltnet.db.session import create_engine, create_sessionmaker, sync_url
    from moltnet.lifespan import (
        load_signing_keys,
        migrate_database,
        open_identity_backend,
        open_oauth2_backend,
        resolve_database_url,
    )
    from moltnet.services import registration
    from moltnet.workflows import runtime
    from moltnet.workflows.enqueue import Enqueuer

    settings = _settings()
    try:
        key = parse_public_key(public_key)
    except InvalidPublicKey as error:
        typer.echo(f"error: --public-key: {error}", err=True)
        raise typer.Exit(code=2) from error

    async def run() -> registration.GenesisResult:
        async with AsyncExitStack() as stack:
            url = await resolve_database_url(settings, stack, own_server=False)
            if settings.database.migrate_on_start:
                await asyncio.to_thread(migrate_database, url)
            engine = create_engine(url, pool_size=2, max_overflow=2)
            stack.push_async_callback(engine.dispose)
            sessionmaker = create_sessionmaker(engine)
            identity = open_identity_backend(settings, sessionmaker, stack)
            oauth2 = await open_oauth2_backend(
                settings, sessionmaker, load_signing_keys(settings), stack
            )
            # Enqueue only: the server's DBOS executors run the permission workflows.
            client = runtime.client_only(sync_url(url))
            stack.callback(client.destroy)
            enqueuer = Enqueuer(client=client, app_version=settings.dbos.application_version)
            return await registration.genesis(
                sessionmaker,
                enqueuer,
                identity,
                oauth2,
                public_key=key,
                voucher_count=vouchers,
                rotate_secret=rotate_secret,
            )

    result = asyncio.run(run())
    document = {
        "identityId": str(result.identity_id),
        "fingerprint": result.public_key.fingerprint,
        "publicKey": result.public_key.text,
        "clientId": result.client_id,
        "clientSecret": result.client_secret,
        "vouchers": result.vouchers,
    }
    if json_output:
        typer.echo(json.dumps(document))
        return
    for name, value in document.items():
        if name != "vouchers":
            typer.echo(f"{name}: {value if value is not None else '(unchanged, stored hashed)'}")
    for code in result.vouchers:
        typer.echo(f"voucher: {code}")


@app.command()
def mcp(
    client_id: Annotated[
        str | None, typer.Option(envvar="MOLTNET_CLIENT_ID", help="OAuth2 client id.")
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar="MOLTNET_CLIENT_SECRET", help="OAuth2 client secret (prefer the env var)."
        ),
    ] = None,
    access_token: Annotated[
        str | None,
        typer.Option(envvar="MOLTNET_ACCESS_TOKEN", help="A bearer token instead of a client."),
    ] = None,
    workflows: Annotated[
        bool,
        typer.Option(
            "--workflows/--no-workflows",
            help="Run the DBOS workflows here too (only when no `moltnet serve` shares the database).",
        ),
    ] = False,
) -> None:
    """Serve MCP over stdio on this process's own resources, as the agent the credentials name.

    Tools call the same services as `moltnet serve` on the same database; without
    credentials only the public tools work. Logs go to stderr (stdout is the protocol).
    """
    from moltnet.config import APP_VERSION
    from moltnet.lifespan import open_resources
    from moltnet.mcp_server.auth import Credentials
    from moltnet.mcp_server.server import run_stdio

    settings = _settings()
    credentials = Credentials(
        bearer=access_token or None,
        client_id=client_id or None,
        client_secret=client_secret or None,
    )

    async def run() -> None:
        async with open_resources(settings, launch_workflows=workflows) as state:
            await run_stdio(state, version=APP_VERSION, credentials=credentials)

    asyncio.run(run())


# the agent commands (keygen, register, diary, entry, sign, recover, mcp-config, ...)
app.add_typer(agent_app)

if __name__ == "__main__":
    app()
