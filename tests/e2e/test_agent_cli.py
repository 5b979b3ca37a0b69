"""The agent's journey through the ``moltnet`` CLI against the real server over HTTP.

keygen -> register with a genesis voucher -> add entries -> search -> share with a second
agent -> sign an entry -> verify it -> sign a message -> recover. The agent commands run
in-process through typer's runner (the server import chain makes a process per command
cost seconds) with their real environment variables; the console script itself and the
operator's ``genesis`` run as subprocesses.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from typer.testing import CliRunner

from moltnet.cli import app
from moltnet.crypto import generate_key_pair
from tests.fixtures.server import ServerProcess

EXIT_OK, EXIT_API, EXIT_LOCAL = 0, 1, 2


class Agent:
    """One agent's shell: its own config directory, the server URL in the environment."""

    def __init__(self, server: ServerProcess, directory: Path) -> None:
        self.directory = directory
        self.env = {"MOLTNET_API_URL": server.base_url, "MOLTNET_CONFIG_DIR": str(directory)}
        self.runner = CliRunner()

    def run(self, *args: str, expect: int = EXIT_OK, stdin: str | None = None) -> Any:
        result = self.runner.invoke(app, [*args, "--json"], env=self.env, input=stdin)
        assert result.exit_code == expect, (
            f"moltnet {' '.join(args)} exited {result.exit_code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
        )
        if expect != EXIT_OK:
            return json.loads(result.stderr)["error"] if result.stderr.strip() else None
        return json.loads(result.stdout)

    def text(self, *args: str) -> str:
        result = self.runner.invoke(app, list(args), env=self.env)
        assert result.exit_code == EXIT_OK, result.stderr
        return result.stdout


def genesis(server: ServerProcess, public_key: str, vouchers: int) -> list[str]:
    """The operator bootstraps the first agent and its vouchers on the server's database."""
    env = {**os.environ, "MOLTNET_HOME": str(server.home), "ENVIRONMENT": "test"}
    assert server.database_url is not None
    env["DATABASE_URL"] = server.database_url
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "moltnet.cli",
            "genesis",
            "--public-key",
            public_key,
            "--vouchers",
            str(vouchers),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, f"genesis failed:\n{completed.stdout}\n{completed.stderr}"
    document = json.loads(completed.stdout)
    codes = [item["code"] if isinstance(item, dict) else item for item in document["vouchers"]]
    assert len(codes) == vouchers
    return [str(code) for code in codes]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def server(server_factory: Any) -> ServerProcess:
    return server_factory()  # type: ignore[no-any-return]


def test_agent_journey_through_the_cli(server: ServerProcess, tmp_path: Path) -> None:
    alice = Agent(server, tmp_path / "alice")
    bob = Agent(server, tmp_path / "bob")

    # keygen: the seed is stored privately and not printed
    key = alice.run("keygen")
    assert set(key) == {"publicKey", "fingerprint", "keyFile"}
    assert mode(alice.directory) == 0o700
    assert mode(alice.directory / "key.json") == 0o600
    human = alice.text("keygen", "--force")  # a human's table: fingerprint, never the seed
    stored = json.loads((alice.directory / "key.json").read_text())
    assert stored["fingerprint"] in human
    assert stored["seed"] not in human
    assert stored["fingerprint"] != key["fingerprint"]
    key = {"publicKey": stored["publicKey"], "fingerprint": stored["fingerprint"]}
    assert alice.run("keygen", expect=EXIT_LOCAL)["kind"] == "local"  # no silent overwrite

    # register with a genesis voucher
    genesis_key = generate_key_pair()
    first, second = genesis(server, genesis_key.public_key.text, vouchers=2)
    registered = alice.run("register", "--voucher", first)
    assert registered["fingerprint"] == key["fingerprint"]
    assert registered["publicKey"] == key["publicKey"]
    assert "clientSecret" not in registered
    assert mode(alice.directory / "credentials.json") == 0o600
    reused = alice.run("register", "--voucher", first, expect=EXIT_API)
    assert reused["slug"] in {"registration-failed", "conflict"}
    me = alice.run("whoami")
    assert me["fingerprint"] == key["fingerprint"]
    assert "diary:write" in me["scopes"]

    # diaries: the Private diary exists; create one to share
    diaries = alice.run("diary", "list")
    assert [diary["name"] for diary in diaries["items"]] == ["Private"]
    diary = alice.run("diary", "create", "Research notes", "--visibility", "private")
    assert diary["role"] == "owner"
    diary_id = diary["id"]

    # add entries, then search them
    tide = alice.run(
        "entry",
        "add",
        diary_id,
        "The tide pools at dawn hold anemones and hermit crabs.",
        "--title",
        "Tide pools",
        "--tag",
        "ocean",
        "--tag",
        "fieldwork",
        "--type",
        "episodic",
    )
    assert tide["tags"] == ["ocean", "fieldwork"]
    assert tide["contentSignature"] is None
    alice.run(
        "entry",
        "add",
        diary_id,
        "-",
        "--tag",
        "cooking",
        stdin="Sourdough needs a long, cold fermentation for flavour.",
    )
    found = alice.run("entry", "search", "anemones in tide pools")
    assert found["results"], found
    assert found["results"][0]["id"] == tide["id"]
    assert alice.run("entry", "get", tide["id"])["content"].startswith("The tide pools")
    # the human-readable forms render the same data as tables
    assert "Research notes" in alice.text("diary", "list")
    assert "Tide pools" in alice.text("entry", "search", "anemones")
    assert "anemones" in alice.text("entry", "get", tide["id"])
    assert key["fingerprint"] in alice.text("whoami")
    listed = alice.run("entry", "list", diary_id, "--tag", "ocean")
    assert [entry["id"] for entry in listed["items"]] == [tide["id"]]

    # share with a second agent, who accepts and can read
    bob_key = bob.run("keygen")
    bob.run("register", "--voucher", second)
    bob.run("diary", "get", diary_id, expect=EXIT_API)  # private and not shared yet: 404
    invitation = alice.run("diary", "share", diary_id, bob_key["fingerprint"], "--role", "reader")
    assert invitation["status"] == "pending"
    assert "Research" in bob.text("diary", "invitations")  # narrow terminal: cells wrap
    pending = bob.run("diary", "invitations")["invitations"]
    assert [item["id"] for item in pending] == [invitation["id"]]
    assert bob.run("diary", "accept", invitation["id"])["status"] == "accepted"
    assert bob.run("diary", "get", diary_id)["role"] == "reader"
    shared = bob.run("entry", "search", "hermit crabs", "--include-shared")
    assert tide["id"] in [entry["id"] for entry in shared["results"]]
    denied = bob.run("entry", "add", diary_id, "not allowed", expect=EXIT_API)
    assert denied["status"] == 403

    # sign an entry (CID signed locally through a signing request), verify it
    signed = alice.run(
        "entry",
        "add",
        diary_id,
        "I, Alice, attest this observation.",
        "--sign",
        "--title",
        "Attestation",
        "--tag",
        "attested",
    )
    assert signed["contentSignature"] is not None
    assert signed["signingNonce"] is not None
    verified = bob.run("entry", "verify", signed["id"])
    assert verified["valid"] is True
    assert verified["verifiedLocally"] is True
    assert verified["agentFingerprint"] == key["fingerprint"]
    unsigned = alice.run("entry", "verify", tide["id"], expect=EXIT_API)
    assert unsigned is None or unsigned.get("kind") != "problem"

    # sign a message: the full signing-request round trip, key local
    signature = alice.run("sign", "hello from alice")
    assert signature["status"] == "completed"
    assert signature["valid"] is True
    public_verify = httpx.post(
        f"{server.base_url}/crypto/verify", json={"signature": signature["signature"]}
    )
    assert public_verify.json() == {"valid": True}

    # recover: new secret from the key alone; the old secret stops working
    old = json.loads((alice.directory / "credentials.json").read_text())
    (alice.directory / "credentials.json").unlink()
    recovered = alice.run("recover")
    assert recovered["fingerprint"] == key["fingerprint"]
    new = json.loads((alice.directory / "credentials.json").read_text())
    assert new["clientSecret"] != old["clientSecret"]
    assert mode(alice.directory / "credentials.json") == 0o600
    refused = httpx.post(
        f"{server.base_url}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": old["clientId"],
            "client_secret": old["clientSecret"],
        },
    )
    assert refused.status_code == 401
    assert alice.run("whoami")["fingerprint"] == key["fingerprint"]
    assert [item["id"] for item in alice.run("diary", "shares", diary_id)["shares"]] == [
        invitation["id"]
    ]

    check_errors_and_mcp_config(server, tmp_path, issuer=alice)


def check_errors_and_mcp_config(server: ServerProcess, tmp_path: Path, issuer: Agent) -> None:
    """Exit codes and problem output for a fresh agent, then its MCP client config."""
    agent = Agent(server, tmp_path / "agent")
    assert agent.run("whoami", expect=EXIT_LOCAL)["kind"] == "local"  # no credentials yet
    assert agent.run("register", "--voucher", "ab" * 32, expect=EXIT_LOCAL)["kind"] == "local"
    agent.run("keygen")
    problem = agent.run("register", "--voucher", "ab" * 32, expect=EXIT_API)
    assert problem["slug"] == "registration-failed"
    assert problem["status"] == 403
    invalid = agent.run("register", "--voucher", "not-a-code", expect=EXIT_API)
    assert invalid["slug"] == "validation-failed"
    assert invalid["errors"]

    voucher = issuer.run("vouch")  # an agent vouches for the newcomer
    assert voucher["issuedBy"] == issuer.run("whoami")["fingerprint"]
    agent.run("register", "--voucher", voucher["code"])
    missing = agent.run("diary", "get", str(uuid4()), expect=EXIT_API)
    assert missing["slug"] == "not-found"

    config = json.loads(agent.text("mcp-config"))
    entry = config["mcpServers"]["moltnet"]
    credentials = json.loads((agent.directory / "credentials.json").read_text())
    assert entry == {
        "type": "http",
        "url": f"{server.base_url}/mcp",
        "headers": {
            "X-Client-Id": credentials["clientId"],
            "X-Client-Secret": credentials["clientSecret"],
        },
    }
    desktop = json.loads(agent.text("mcp-config", "--format", "claude-desktop", "--env-refs"))
    assert "${MOLTNET_CLIENT_SECRET}" in " ".join(desktop["mcpServers"]["moltnet"]["args"])
    assert credentials["clientSecret"] not in json.dumps(desktop)

    # the console script mounts the agent commands (a real process, real environment)
    completed = subprocess.run(
        [sys.executable, "-m", "moltnet.cli", "whoami", "--json"],
        env={**os.environ, **agent.env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["clientId"] == credentials["clientId"]

    unreachable = Agent(server, agent.directory)
    unreachable.env["MOLTNET_API_URL"] = "http://127.0.0.1:9"
    assert unreachable.run("whoami", expect=EXIT_API)["kind"] == "connection"
