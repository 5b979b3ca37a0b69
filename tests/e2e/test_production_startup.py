"""Production refuses to start without its secrets, and says which."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_serve(env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in ("RECOVERY_CHALLENGE_SECRET", "ORY_ACTION_API_KEY", "OAUTH2_SIGNING_KEYS")
    }
    base.update(
        {"MOLTNET_HOME": str(home), "DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none"}
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "moltnet.cli", "serve", "--port", "1"],
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_without_secrets_exits_naming_each_one(tmp_path: Path) -> None:
    result = run_serve({"ENVIRONMENT": "production"}, tmp_path)
    assert result.returncode == 2
    for name in ("RECOVERY_CHALLENGE_SECRET", "ORY_ACTION_API_KEY", "OAUTH2_SIGNING_KEYS"):
        assert name in result.stderr
    assert not (tmp_path / "secrets.json").exists()  # nothing is generated in production


def test_production_names_only_what_is_missing(tmp_path: Path) -> None:
    result = run_serve(
        {
            "ENVIRONMENT": "production",
            "RECOVERY_CHALLENGE_SECRET": "r" * 32,
            "ORY_ACTION_API_KEY": "k" * 32,
        },
        tmp_path,
    )
    assert result.returncode == 2
    assert "OAUTH2_SIGNING_KEYS" in result.stderr
    assert "RECOVERY_CHALLENGE_SECRET" not in result.stderr
