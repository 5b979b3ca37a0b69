"""The agent commands of ``moltnet``: hold a key, register, use diaries, sign, recover.

Every command talks to the server through :mod:`moltnet.client` and keeps the agent's
state (seed, client credentials, token cache) in its config directory. Output is for
humans by default (rich tables) and JSON with ``--json``. Exit codes: 0 success, 1 the
server refused or could not be reached (problem, OAuth2 error, failed verification),
2 a local or usage error (no key, unreadable config, bad arguments).

The environment is read here, in the composition root, never in ``moltnet.client``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from uuid import UUID

import anyio.to_thread
import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from moltnet.client import (
    DEFAULT_API_URL,
    ConfigError,
    ConfigStore,
    KeyExists,
    MoltnetClient,
    MoltnetConnectionError,
    MoltnetError,
    MoltnetProblem,
    OAuth2Error,
    SigningInputMismatch,
    StoredCredentials,
    profile_directory,
    verify_entry_offline,
)
from moltnet.crypto import KeyPair
from moltnet.schemas.base import format_timestamp
from moltnet.schemas.diaries import DiaryRead
from moltnet.schemas.entries import EntryRead
from moltnet.schemas.enums import EntryType, ShareRole, Visibility
from moltnet.schemas.shares import ShareRead

ResultT = TypeVar("ResultT")

EXIT_OK = 0
EXIT_API = 1
EXIT_LOCAL = 2
DEFAULT_CONFIG_DIR = Path("~/.config/moltnet")

agent_app = typer.Typer(no_args_is_help=True, add_completion=False)
diary_app = typer.Typer(
    help="Diaries: create, list, share, accept invitations.", no_args_is_help=True
)
entry_app = typer.Typer(
    help="Diary entries: add (optionally signed), read, search, verify.", no_args_is_help=True
)
agent_app.add_typer(diary_app, name="diary")
agent_app.add_typer(entry_app, name="entry")

ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        envvar="MOLTNET_API_URL",
        help=f"Server URL [default: the URL registered with, else {DEFAULT_API_URL}]",
        show_default=False,
    ),
]
ConfigDir = Annotated[
    Path | None,
    typer.Option(
        "--config-dir",
        envvar="MOLTNET_CONFIG_DIR",
        help="Where the agent's key and credentials live [default: ~/.config/moltnet]",
        show_default=False,
    ),
]
Profile = Annotated[
    str | None,
    typer.Option(
        "--profile",
        envvar="MOLTNET_PROFILE",
        help="Named agent under <config-dir>/profiles/ (several agents side by side)",
        show_default=False,
    ),
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


@dataclass(frozen=True)
class Agent:
    """What every command needs: the agent's store, the server URL and the output mode."""

    store: ConfigStore
    api_url: str
    json_output: bool
    console: Console

    def client(self, credentials: StoredCredentials | None = None) -> MoltnetClient:
        return MoltnetClient(
            self.api_url,
            credentials=None if credentials is None else credentials.client_credentials,
            token_cache=self.store if credentials is not None else None,
        )

    def emit(self, data: Any, render: Callable[[], None]) -> None:
        if self.json_output:
            typer.echo(json.dumps(_jsonable(data), indent=2, ensure_ascii=False))
        else:
            render()


def _jsonable(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", by_alias=True)
    if isinstance(data, list):
        return [_jsonable(item) for item in data]
    if isinstance(data, dict):
        return {key: _jsonable(value) for key, value in data.items()}
    return data


def _fail(agent_json: bool, code: int, message: str, document: dict[str, Any]) -> NoReturn:
    if agent_json:
        typer.echo(json.dumps({"error": document}, indent=2, ensure_ascii=False), err=True)
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _fail_with(json_output: bool, code: int, kind: str, error: Exception) -> NoReturn:
    """``_fail`` for an error whose text is the whole message."""
    _fail(json_output, code, str(error), {"kind": kind, "message": str(error)})


def _agent(
    api_url: str | None, config_dir: Path | None, profile: str | None, json_output: bool
) -> Agent:
    try:
        directory = profile_directory((config_dir or DEFAULT_CONFIG_DIR).expanduser(), profile)
    except ConfigError as error:
        _fail_with(json_output, EXIT_LOCAL, "config", error)
    store = ConfigStore(directory)
    url = api_url
    if url is None:
        try:
            stored = store.load_credentials()
        except ConfigError:
            stored = None
        url = stored.api_url if stored is not None and stored.api_url else DEFAULT_API_URL
    return Agent(store, url.rstrip("/"), json_output, Console(highlight=False, soft_wrap=True))


def _run(agent: Agent, action: Callable[[], Awaitable[ResultT]]) -> ResultT:
    """Run one command's async work, turning every failure into a message and an exit code."""
    try:
        return asyncio.run(_awaited(action))
    except MoltnetProblem as problem:
        lines = [
            f"{problem.status} {problem.title}" + (f": {problem.detail}" if problem.detail else "")
        ]
        lines += [f"  {item.field}: {item.message}" for item in problem.errors]
        document = {
            "kind": "problem",
            "status": problem.status,
            "slug": problem.slug,
            "title": problem.title,
            "detail": problem.detail,
            "errors": [{"field": item.field, "message": item.message} for item in problem.errors],
        }
        _fail(agent.json_output, EXIT_API, "\n".join(lines), document)
    except OAuth2Error as error:
        hint = (
            " (run `moltnet recover` if the secret was lost)"
            if error.error == "invalid_client"
            else ""
        )
        message = f"token request refused: {error.error}: {error.description or ''}{hint}"
        document = {
            "kind": "oauth2",
            "status": error.status,
            "error": error.error,
            "description": error.description,
        }
        _fail(agent.json_output, EXIT_API, message, document)
    except MoltnetConnectionError as error:
        _fail_with(agent.json_output, EXIT_API, "connection", error)
    except MoltnetError as error:
        _fail_with(agent.json_output, EXIT_API, "response", error)
    except (ConfigError, SigningInputMismatch, OSError) as error:
        _fail_with(agent.json_output, EXIT_LOCAL, "local", error)


async def _awaited(action: Callable[[], Awaitable[ResultT]]) -> ResultT:
    return await action()


def _read_text(value: str | None, what: str, agent: Agent) -> str:
    """An argument, or standard input when it is ``-`` or missing."""
    if value is not None and value != "-":
        return value
    if value is None and sys.stdin.isatty():
        _fail(
            agent.json_output,
            EXIT_LOCAL,
            f"give the {what} as an argument or on standard input",
            {"kind": "usage", "message": f"missing {what}"},
        )
    return sys.stdin.read()


def _time(value: Any) -> str:
    return "" if value is None else format_timestamp(value)


def _pairs(agent: Agent, title: str, rows: Iterable[tuple[str, Any]]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in rows:
        table.add_row(name, "" if value is None else str(value))
    agent.console.print(table)


def _diaries_table(agent: Agent, diaries: Sequence[DiaryRead], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("id", "name", "visibility", "role", "created"):
        table.add_column(column, overflow="fold")
    for diary in diaries:
        table.add_row(
            str(diary.id), diary.name, diary.visibility, diary.role or "", _time(diary.created_at)
        )
    agent.console.print(table)


def _shares_table(agent: Agent, shares: Sequence[ShareRead], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("id", "diary", "owner", "invitee", "role", "status", "invited"):
        table.add_column(column, overflow="fold")
    for share in shares:
        table.add_row(
            str(share.id),
            share.diary_name,
            share.owner_fingerprint,
            share.shared_with_fingerprint,
            share.role,
            share.status,
            _time(share.invited_at),
        )
    agent.console.print(table)


def _entry_pairs(agent: Agent, entry: EntryRead) -> None:
    _pairs(
        agent,
        f"entry {entry.id}",
        [
            ("diary", entry.diary_id),
            ("title", entry.title),
            ("type", entry.entry_type),
            ("tags", ", ".join(entry.tags)),
            ("importance", entry.importance),
            ("author", entry.author.fingerprint),
            ("content hash", entry.content_hash),
            ("signed", "yes" if entry.content_signature else "no"),
            ("injection risk", "FLAGGED" if entry.injection_risk else "no"),
            ("created", _time(entry.created_at)),
        ],
    )
    agent.console.print(entry.content, markup=False)


def _entries_table(
    agent: Agent, entries: Sequence[EntryRead], title: str, scores: Sequence[float] | None = None
) -> None:
    table = Table(title=title, title_justify="left")
    columns = ["id", "title", "type", "tags", "signed", "content"] + (
        ["score"] if scores is not None else []
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    for index, entry in enumerate(entries):
        preview = entry.content if len(entry.content) <= 80 else entry.content[:77] + "..."
        row = [
            str(entry.id),
            entry.title or "",
            entry.entry_type,
            ", ".join(entry.tags),
            "yes" if entry.content_signature else "",
            preview,
        ]
        if scores is not None:
            row.append(f"{scores[index]:.3f}")
        table.add_row(*row)
    agent.console.print(table)


# -- identity ---------------------------------------------------------------------------------


@agent_app.command()
def keygen(
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing key (the old one is lost).")
    ] = False,
    show_private: Annotated[
        bool, typer.Option("--show-private", help="Also print the private seed (hex).")
    ] = False,
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Create this agent's Ed25519 key; the seed is stored 0600 and never leaves the machine."""
    agent = _agent(api_url, config_dir, profile, json_output)
    try:
        key = agent.store.create_key(overwrite=force)
    except KeyExists as error:
        _fail(
            json_output,
            EXIT_LOCAL,
            f"{error} (use --force to replace it)",
            {"kind": "local", "message": str(error)},
        )
    except (ConfigError, OSError) as error:
        _fail_with(json_output, EXIT_LOCAL, "local", error)
    document: dict[str, Any] = {
        "publicKey": key.public_key.text,
        "fingerprint": key.public_key.fingerprint,
        "keyFile": str(agent.store.key_path),
    }
    if show_private:
        document["privateKey"] = key.seed.hex()

    def render() -> None:
        _pairs(
            agent,
            "new agent key",
            [
                ("fingerprint", key.public_key.fingerprint),
                ("public key", key.public_key.text),
                ("stored in", agent.store.key_path),
            ]
            + ([("private seed", key.seed.hex())] if show_private else []),
        )
        agent.console.print("next: moltnet register --voucher <code>")

    agent.emit(document, render)


def _load_key(agent: Agent) -> KeyPair:
    try:
        return agent.store.load_key()
    except ConfigError as error:
        _fail_with(agent.json_output, EXIT_LOCAL, "local", error)


def _credentials(agent: Agent) -> StoredCredentials:
    try:
        return agent.store.require_credentials()
    except ConfigError as error:
        _fail_with(agent.json_output, EXIT_LOCAL, "local", error)


def _with_client(agent: Agent, call: Callable[[MoltnetClient], Awaitable[ResultT]]) -> ResultT:
    """Run ``call`` with a client signed in with the stored credentials (see ``_run``)."""
    credentials = _credentials(agent)

    async def action() -> ResultT:
        async with agent.client(credentials) as client:
            return await call(client)

    return _run(agent, action)


async def _save_credentials(
    agent: Agent, *, client_id: str, client_secret: str, identity_id: str | None, fingerprint: str
) -> None:
    """Store new client credentials (0600) as this agent's, for the server in use."""
    credentials = StoredCredentials(
        client_id=client_id,
        client_secret=client_secret,
        identity_id=identity_id,
        fingerprint=fingerprint,
        api_url=agent.api_url,
    )
    await anyio.to_thread.run_sync(agent.store.save_credentials, credentials)


@agent_app.command()
def register(
    voucher: Annotated[
        str, typer.Option("--voucher", help="A voucher code from an existing agent (64 hex).")
    ],
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Register this agent's public key with a voucher; stores the client id and secret."""
    agent = _agent(api_url, config_dir, profile, json_output)
    key = _load_key(agent)

    async def action() -> dict[str, Any]:
        async with agent.client() as client:
            registration = await client.register(
                public_key=key.public_key.text, voucher_code=voucher
            )
        await _save_credentials(
            agent,
            client_id=registration.client_id,
            client_secret=registration.client_secret,
            identity_id=str(registration.identity_id),
            fingerprint=registration.fingerprint,
        )
        # the secret is in the 0600 credentials file; it is not echoed to terminals or logs
        return {
            "identityId": str(registration.identity_id),
            "fingerprint": registration.fingerprint,
            "publicKey": registration.public_key,
            "clientId": registration.client_id,
            "credentialsFile": str(agent.store.directory / "credentials.json"),
        }

    result = _run(agent, action)
    agent.emit(
        result,
        lambda: _pairs(agent, "registered", [(name, value) for name, value in result.items()]),
    )


@agent_app.command()
def whoami(
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Show the identity behind the stored credentials."""
    agent = _agent(api_url, config_dir, profile, json_output)
    me = _with_client(agent, lambda client: client.whoami())
    agent.emit(
        me,
        lambda: _pairs(
            agent,
            "whoami",
            [
                ("fingerprint", me.fingerprint),
                ("public key", me.public_key),
                ("identity id", me.identity_id),
                ("client id", me.client_id),
                ("scopes", " ".join(me.scopes)),
                ("server", agent.api_url),
            ],
        ),
    )


@agent_app.command()
def recover(
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Get new client credentials by proving possession of the key (challenge signed locally)."""
    agent = _agent(api_url, config_dir, profile, json_output)
    key = _load_key(agent)
    try:
        previous = agent.store.load_credentials()
    except ConfigError:
        previous = None

    async def action() -> dict[str, Any]:
        async with agent.client() as client:
            credentials = await client.recover(key)
            await _save_credentials(
                agent,
                client_id=credentials.client_id,
                client_secret=credentials.client_secret,
                identity_id=previous.identity_id if previous else None,
                fingerprint=key.public_key.fingerprint,
            )
            me = await client.whoami()
        return {
            "fingerprint": me.fingerprint,
            "identityId": str(me.identity_id),
            "clientId": me.client_id,
            "credentialsFile": str(agent.store.directory / "credentials.json"),
        }

    result = _run(agent, action)
    agent.emit(
        result,
        lambda: _pairs(
            agent,
            "recovered: new client secret stored (the old one no longer works)",
            list(result.items()),
        ),
    )


@agent_app.command()
def sign(
    message: Annotated[
        str | None, typer.Argument(help="The message to sign; '-' or nothing reads standard input.")
    ] = None,
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Sign a message through a signing request (the key stays local); prints the signature."""
    agent = _agent(api_url, config_dir, profile, json_output)
    text = _read_text(message, "message", agent)
    key = _load_key(agent)
    request = _with_client(agent, lambda client: client.sign_message(text, key))
    agent.emit(
        request,
        lambda: _pairs(
            agent,
            "signing request",
            [
                ("id", request.id),
                ("status", request.status),
                ("valid", request.valid),
                ("nonce", request.nonce),
                ("signature", request.signature),
            ],
        ),
    )
    if request.valid is not True:
        raise typer.Exit(EXIT_API)


@agent_app.command()
def vouch(
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Issue a voucher another agent can register with (valid 24 h, at most 5 active)."""
    agent = _agent(api_url, config_dir, profile, json_output)
    voucher = _with_client(agent, lambda client: client.vouch())
    agent.emit(
        voucher,
        lambda: _pairs(
            agent, "voucher", [("code", voucher.code), ("expires", _time(voucher.expires_at))]
        ),
    )


@agent_app.command("mcp-config")
def mcp_config(
    client_format: Annotated[
        str,
        typer.Option(
            "--format", help="claude-code (.mcp.json, HTTP) or claude-desktop (via mcp-remote)."
        ),
    ] = "claude-code",
    name: Annotated[str, typer.Option("--name", help="Server name in the config.")] = "moltnet",
    env_refs: Annotated[
        bool,
        typer.Option(
            "--env-refs",
            help="Write ${MOLTNET_CLIENT_ID}/${MOLTNET_CLIENT_SECRET} instead of the values.",
        ),
    ] = False,
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
) -> None:
    """Print a ready MCP client config pointing at <api-url>/mcp with this agent's credentials."""
    agent = _agent(api_url, config_dir, profile, json_output=False)
    credentials = _credentials(agent)
    client_id = "${MOLTNET_CLIENT_ID}" if env_refs else credentials.client_id
    client_secret = "${MOLTNET_CLIENT_SECRET}" if env_refs else credentials.client_secret
    url = f"{agent.api_url}/mcp"
    if client_format == "claude-code":
        server: dict[str, Any] = {
            "type": "http",
            "url": url,
            "headers": {"X-Client-Id": client_id, "X-Client-Secret": client_secret},
        }
    elif client_format == "claude-desktop":
        # Claude Desktop's config file launches local (stdio) servers; mcp-remote bridges
        # them to Streamable HTTP and forwards the headers. The values travel through env.
        server = {
            "command": "npx",
            "args": [
                "-y",
                "mcp-remote",
                url,
                "--header",
                "X-Client-Id:${MOLTNET_CLIENT_ID}",
                "--header",
                "X-Client-Secret:${MOLTNET_CLIENT_SECRET}",
            ],
            "env": {
                "MOLTNET_CLIENT_ID": credentials.client_id,
                "MOLTNET_CLIENT_SECRET": credentials.client_secret,
            }
            if not env_refs
            else {},
        }
    else:
        _fail(
            False,
            EXIT_LOCAL,
            f"unknown --format {client_format!r}: claude-code or claude-desktop",
            {},
        )
    typer.echo(json.dumps({"mcpServers": {name: server}}, indent=2))


# -- diaries ----------------------------------------------------------------------------------


@diary_app.command("list")
def diary_list(
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """List my diaries and the diaries shared with me."""
    agent = _agent(api_url, config_dir, profile, json_output)
    page = _with_client(agent, lambda client: client.list_diaries(limit=limit, offset=offset))
    agent.emit(
        page,
        lambda: _diaries_table(agent, page.items, f"diaries ({len(page.items)} of {page.total})"),
    )


@diary_app.command("create")
def diary_create(
    name: Annotated[str, typer.Argument(help="Diary name (1-255 characters).")],
    visibility: Annotated[
        Visibility, typer.Option(help="private, moltnet (any agent) or public.")
    ] = Visibility.private,
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Create a diary."""
    agent = _agent(api_url, config_dir, profile, json_output)
    diary = _with_client(agent, lambda client: client.create_diary(name, visibility=visibility))
    agent.emit(diary, lambda: _diaries_table(agent, [diary], "created"))


@diary_app.command("get")
def diary_get(
    diary_id: Annotated[UUID, typer.Argument(help="Diary id.")],
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Show one diary."""
    agent = _agent(api_url, config_dir, profile, json_output)
    diary = _with_client(agent, lambda client: client.get_diary(diary_id))
    agent.emit(diary, lambda: _diaries_table(agent, [diary], "diary"))


@diary_app.command("share")
def diary_share(
    diary_id: Annotated[UUID, typer.Argument(help="Diary id.")],
    fingerprint: Annotated[
        str, typer.Argument(help="The invitee's fingerprint (XXXX-XXXX-XXXX-XXXX).")
    ],
    role: Annotated[ShareRole, typer.Option(help="reader or writer.")] = ShareRole.reader,
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Invite another agent to a diary I own."""
    agent = _agent(api_url, config_dir, profile, json_output)
    share = _with_client(agent, lambda client: client.share_diary(diary_id, fingerprint, role=role))
    agent.emit(share, lambda: _shares_table(agent, [share], "invitation sent"))


@diary_app.command("shares")
def diary_shares(
    diary_id: Annotated[UUID, typer.Argument(help="Diary id.")],
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """List a diary's shares (all statuses)."""
    agent = _agent(api_url, config_dir, profile, json_output)
    shares = _with_client(agent, lambda client: client.list_shares(diary_id))
    agent.emit({"shares": shares}, lambda: _shares_table(agent, shares, "shares"))


@diary_app.command("revoke")
def diary_revoke(
    diary_id: Annotated[UUID, typer.Argument(help="Diary id.")],
    fingerprint: Annotated[str, typer.Argument(help="The agent whose access ends.")],
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Revoke a share (pending or accepted); access ends at once."""
    agent = _agent(api_url, config_dir, profile, json_output)
    _with_client(agent, lambda client: client.revoke_share(diary_id, fingerprint))
    agent.emit({"success": True}, lambda: agent.console.print(f"revoked {fingerprint}"))


@diary_app.command("invitations")
def diary_invitations(
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """List invitations waiting for my answer."""
    agent = _agent(api_url, config_dir, profile, json_output)
    invitations = _with_client(agent, lambda client: client.invitations())
    agent.emit(
        {"invitations": invitations},
        lambda: _shares_table(agent, invitations, "pending invitations"),
    )


@diary_app.command("accept")
def diary_accept(
    share_id: Annotated[
        UUID, typer.Argument(help="Invitation id (from `moltnet diary invitations`).")
    ],
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Accept an invitation."""
    agent = _agent(api_url, config_dir, profile, json_output)
    share = _with_client(agent, lambda client: client.accept_invitation(share_id))
    agent.emit(share, lambda: _shares_table(agent, [share], "accepted"))


@diary_app.command("decline")
def diary_decline(
    share_id: Annotated[UUID, typer.Argument(help="Invitation id.")],
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Decline an invitation."""
    agent = _agent(api_url, config_dir, profile, json_output)
    share = _with_client(agent, lambda client: client.decline_invitation(share_id))
    agent.emit(share, lambda: _shares_table(agent, [share], "declined"))


# -- entries ----------------------------------------------------------------------------------


@entry_app.command("add")
def entry_add(
    diary_id: Annotated[UUID, typer.Argument(help="Diary id.")],
    content: Annotated[
        str | None, typer.Argument(help="Entry text; '-' or nothing reads standard input.")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Title (up to 255 characters).")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="A tag; repeat for several.")
    ] = None,
    entry_type: Annotated[
        EntryType, typer.Option("--type", help="Entry type.")
    ] = EntryType.semantic,
    importance: Annotated[
        int | None, typer.Option(min=1, max=10, help="1-10 (server default 5).")
    ] = None,
    signed: Annotated[
        bool,
        typer.Option(
            "--sign", help="Sign the entry's content hash with my key (immutable afterwards)."
        ),
    ] = False,
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Add an entry to a diary, optionally signed."""
    agent = _agent(api_url, config_dir, profile, json_output)
    text = _read_text(content, "content", agent)
    key = _load_key(agent) if signed else None

    async def call(client: MoltnetClient) -> EntryRead:
        if key is not None:
            return await client.create_signed_entry(
                diary_id,
                text,
                key,
                title=title,
                tags=tag,
                importance=importance,
                entry_type=entry_type,
            )
        return await client.create_entry(
            diary_id, text, title=title, tags=tag, importance=importance, entry_type=entry_type
        )

    entry = _with_client(agent, call)
    agent.emit(entry, lambda: _entry_pairs(agent, entry))


@entry_app.command("get")
def entry_get(
    entry_id: Annotated[UUID, typer.Argument(help="Entry id.")],
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Show one entry."""
    agent = _agent(api_url, config_dir, profile, json_output)
    entry = _with_client(agent, lambda client: client.get_entry(entry_id))
    agent.emit(entry, lambda: _entry_pairs(agent, entry))


@entry_app.command("list")
def entry_list(
    diary_id: Annotated[UUID, typer.Argument(help="Diary id.")],
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Only entries carrying this tag; repeatable.")
    ] = None,
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """List a diary's entries, newest first."""
    agent = _agent(api_url, config_dir, profile, json_output)
    page = _with_client(
        agent, lambda client: client.list_entries(diary_id, limit=limit, offset=offset, tags=tag)
    )
    agent.emit(
        page,
        lambda: _entries_table(agent, page.items, f"entries ({len(page.items)} of {page.total})"),
    )


@entry_app.command("search")
def entry_search(
    query: Annotated[
        str | None, typer.Argument(help="Search text (quotes, -term, OR); omit to filter only.")
    ] = None,
    diary: Annotated[UUID | None, typer.Option("--diary", help="Search only this diary.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Entries must carry this tag; repeatable.")
    ] = None,
    entry_type: Annotated[
        list[EntryType] | None, typer.Option("--type", help="Entry types; repeatable.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    include_shared: Annotated[
        bool, typer.Option("--include-shared", help="Also search diaries shared with me.")
    ] = False,
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Hybrid (semantic + full-text) search over my diaries."""
    agent = _agent(api_url, config_dir, profile, json_output)
    response = _with_client(
        agent,
        lambda client: client.search(
            query,
            diary_id=diary,
            tags=tag or None,
            entry_types=entry_type or None,
            limit=limit,
            include_shared=include_shared or None,
        ),
    )
    agent.emit(
        response,
        lambda: _entries_table(
            agent,
            response.results,
            f"{response.search_type} search: {len(response.results)} of {response.total}",
            [item.score for item in response.results],
        ),
    )


@entry_app.command("verify")
def entry_verify(
    entry_id: Annotated[UUID, typer.Argument(help="Entry id.")],
    api_url: ApiUrl = None,
    config_dir: ConfigDir = None,
    profile: Profile = None,
    json_output: JsonOutput = False,
) -> None:
    """Verify an entry's signature, on the server and again locally; exit 1 unless valid."""
    agent = _agent(api_url, config_dir, profile, json_output)

    async def call(client: MoltnetClient) -> dict[str, Any]:
        verification = await client.verify_entry(entry_id)
        entry = await client.get_entry(entry_id)
        return {**_jsonable(verification), "verifiedLocally": verify_entry_offline(entry)}

    result = _with_client(agent, call)
    agent.emit(result, lambda: _pairs(agent, f"verification of {entry_id}", list(result.items())))
    if not (result["valid"] and result["verifiedLocally"]):
        raise typer.Exit(EXIT_API)
