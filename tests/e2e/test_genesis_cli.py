"""``moltnet genesis`` as an operator runs it: a subprocess against a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from moltnet.crypto import generate_key_pair
from moltnet.db.postgres import EmbeddedPostgres
from tests.fixtures.database import clone_database, worker_name


@pytest.fixture
def genesis_env(
    postgres: EmbeddedPostgres, template_database: str, tmp_path: Path
) -> dict[str, str]:
    url = clone_database(postgres, f"genesis_{worker_name()}_{os.getpid()}", template_database)
    env = {key: value for key, value in os.environ.items() if not key.startswith("DATABASE_")}
    env.update(
        {
            "DATABASE_URL": url,
            "DATABASE_MIGRATE_ON_START": "false",
            "MOLTNET_HOME": str(tmp_path / "home"),
            "ENVIRONMENT": "test",
            "LOG_LEVEL": "INFO",
        }
    )
    return env


def run_genesis(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "moltnet.cli", "genesis", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rows(env: dict[str, str], query: str, *params: object) -> list[tuple[object, ...]]:
    url = env["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    with psycopg.connect(url) as connection:
        return connection.execute(query, params).fetchall()


def test_genesis_bootstraps_an_agent_and_prints_one_json_object(
    genesis_env: dict[str, str],
) -> None:
    key = generate_key_pair().public_key
    first = run_genesis(genesis_env, "--public-key", key.text, "--vouchers", "7", "--json")
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)  # exactly one JSON document, logs on stderr
    assert set(document) == {
        "identityId",
        "fingerprint",
        "publicKey",
        "clientId",
        "clientSecret",
        "vouchers",
    }
    assert document["fingerprint"] == key.fingerprint
    assert document["publicKey"] == key.text
    assert isinstance(document["clientSecret"], str)
    assert len(document["vouchers"]) == 7  # the 5-active cap does not apply
    assert len(set(document["vouchers"])) == 7

    identity = document["identityId"]
    assert rows(genesis_env, "SELECT name FROM diaries WHERE owner_id = %s", identity) == [
        ("Private",)
    ]
    queued = {name for (name,) in rows(genesis_env, "SELECT name FROM dbos.workflow_status")}
    assert {"keto.register_agent", "keto.grant_owner"} <= queued

    second = run_genesis(genesis_env, "--public-key", key.text, "--vouchers", "2", "--json")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["identityId"] == identity
    assert again["clientId"] == document["clientId"]
    assert again["clientSecret"] is None
    assert len(again["vouchers"]) == 2
    assert not set(again["vouchers"]) & set(document["vouchers"])

    rotated = json.loads(
        run_genesis(
            genesis_env, "--public-key", key.text, "--vouchers", "0", "--json", "--rotate-secret"
        ).stdout
    )
    assert rotated["clientId"] == document["clientId"]
    assert rotated["clientSecret"] not in (None, document["clientSecret"])
    assert rotated["vouchers"] == []
    assert rows(genesis_env, "SELECT count(*) FROM agent_keys") == [(1,)]


@pytest.mark.parametrize(
    "args",
    [
        ["--public-key", "ed25519:AAAA"],
        ["--public-key", generate_key_pair().public_key.text, "--vouchers", "-1"],
    ],
)
def test_genesis_refuses_bad_arguments(genesis_env: dict[str, str], args: list[str]) -> None:
    result = run_genesis(genesis_env, *args, "--json")
    assert result.returncode == 2
    assert result.stdout == ""
