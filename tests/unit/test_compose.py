"""docker-compose.yml: the real Ory stack wired to the app in Ory mode."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from pydantic import BaseModel, SecretStr

from moltnet.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
APP_ENV: dict[str, str] = SERVICES["app"]["environment"]

#: Settings the app reads in embedded mode only, or only against Ory Network.
NOT_FOR_SELF_HOSTED_ORY = {
    "OAUTH2_SIGNING_KEYS": "the embedded issuer's keys; Hydra signs in Ory mode",
    "OAUTH2_ACCESS_TOKEN_TTL_SECONDS": "the embedded issuer's TTL; Hydra's ttl.access_token",
    "OAUTH2_AUDIENCE": "optional: checked only when set",
    "ORY_API_KEY": "Ory Network admin APIs; self-hosted admin ports need none",
}
#: Ory-mode settings every deployment sets even though they have defaults.
ALWAYS_SET_TOP_LEVEL = {"ENVIRONMENT", "PUBLIC_BASE_URL", "CORS_ORIGINS", "TRUSTED_HOSTS"}
ORY_GROUPS = {"ory", "identity", "oauth2", "permissions"}


def settings_env_vars() -> dict[str, tuple[str, Any]]:
    """Every environment variable Settings reads: name -> (group, field info)."""
    names: dict[str, tuple[str, Any]] = {}
    for name, info in Settings.model_fields.items():
        prefix = (info.alias or name).upper()
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub, sub_info in annotation.model_fields.items():
                names[f"{prefix}_{sub.upper()}"] = (name, sub_info)
        else:
            names[prefix] = ("", info)
    return names


def required_in_ory_mode() -> set[str]:
    """Derived from Settings: every Ory-role setting, every secret, the database URL."""
    required = set(ALWAYS_SET_TOP_LEVEL) | {"DATABASE_URL"}
    for env, (group, info) in settings_env_vars().items():
        is_secret = SecretStr in getattr(info.annotation, "__args__", (info.annotation,))
        is_test_hook = env.split("_", 1)[-1].startswith("TEST_")  # test-only knobs
        if (group in ORY_GROUPS or is_secret) and not is_test_hook:
            required.add(env)
    return required - set(NOT_FOR_SELF_HOSTED_ORY)


def test_the_stack_has_every_service() -> None:
    assert set(SERVICES) == {
        "postgres",
        "kratos-migrate",
        "kratos",
        "hydra-migrate",
        "hydra",
        "keto-migrate",
        "keto",
        "migrate",
        "app",
    }
    assert SERVICES["postgres"]["image"].startswith("pgvector/pgvector:")


def test_every_env_var_the_app_reads_in_ory_mode_is_set() -> None:
    required = required_in_ory_mode()
    # the derivation really covers the Ory wiring and the secrets
    assert {"ORY_KETO_WRITE_URL", "OAUTH2_JWKS_URL", "RECOVERY_CHALLENGE_SECRET"} <= required
    missing = sorted(required - set(APP_ENV))
    assert missing == []


def test_the_app_sets_no_unknown_env_vars() -> None:
    known = set(settings_env_vars())
    unknown = sorted(name for name in APP_ENV if name not in known and not name.startswith("OTEL_"))
    assert unknown == []


def test_the_app_runs_every_role_on_ory_in_production() -> None:
    assert APP_ENV["ENVIRONMENT"] == "production"
    for role in ("IDENTITY", "OAUTH2", "PERMISSIONS"):
        assert APP_ENV[f"{role}_BACKEND"] == "ory"
    assert APP_ENV["DATABASE_MIGRATE_ON_START"] == "false"
    settings = Settings.model_validate(
        {
            key.lower(): value
            for key, value in {"environment": "production", "cors_origins": "x"}.items()
        }
    )
    assert settings.is_production


def _service_port(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    assert parsed.hostname is not None, url
    assert parsed.port is not None, url
    return parsed.hostname, parsed.port


@pytest.mark.parametrize(
    ("variable", "service", "port"),
    [
        ("ORY_KRATOS_ADMIN_URL", "kratos", 4434),
        ("ORY_KRATOS_PUBLIC_URL", "kratos", 4433),
        ("ORY_HYDRA_ADMIN_URL", "hydra", 4445),
        ("ORY_HYDRA_PUBLIC_URL", "hydra", 4444),
        ("ORY_KETO_READ_URL", "keto", 4466),
        ("ORY_KETO_WRITE_URL", "keto", 4467),
        ("OAUTH2_JWKS_URL", "hydra", 4444),
        ("OAUTH2_ISSUER", "hydra", 4444),
    ],
)
def test_ory_urls_point_at_the_right_service_and_port(
    variable: str, service: str, port: int
) -> None:
    assert _service_port(APP_ENV[variable]) == (service, port)
    assert service in SERVICES


def test_keto_serves_the_ports_the_app_uses() -> None:
    keto = yaml.safe_load((ROOT / "keto" / "keto.yml").read_text())
    assert keto["serve"]["read"]["port"] == 4466
    assert keto["serve"]["write"]["port"] == 4467
    mounts = SERVICES["keto"]["volumes"]
    assert "./keto/namespaces.ts:/home/ory/namespaces.ts:ro" in mounts
    assert keto["namespaces"]["location"] == "file:///home/ory/namespaces.ts"


def test_hydra_calls_the_token_hook_with_the_api_key() -> None:
    hydra = yaml.safe_load((ROOT / "ory" / "hydra" / "hydra.yml").read_text())
    hook = hydra["oauth2"]["token_hook"]
    assert hook["url"] == "http://app:8000/hooks/hydra/token-exchange"
    assert hook["auth"]["config"]["name"] == "X-Ory-Api-Key"
    assert hydra["strategies"]["access_token"] == "jwt"
    assert hydra["urls"]["self"]["issuer"] == APP_ENV["OAUTH2_ISSUER"]
    env = SERVICES["hydra"]["environment"]
    assert env["OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE"] == "${ORY_ACTION_API_KEY}"


def test_kratos_calls_both_identity_hooks_with_the_api_key() -> None:
    kratos = yaml.safe_load((ROOT / "ory" / "kratos" / "kratos.yml").read_text())
    flows = kratos["selfservice"]["flows"]
    registration = flows["registration"]["after"]["password"]["hooks"][0]["config"]
    settings_hook = flows["settings"]["after"]["hooks"][0]["config"]
    assert registration["url"] == "http://app:8000/hooks/kratos/after-registration"
    assert registration["can_interrupt"] is True
    assert registration["response"]["parse"] is True
    assert settings_hook["url"] == "http://app:8000/hooks/kratos/after-settings"
    env = SERVICES["kratos"]["environment"]
    for variable in (
        "SELFSERVICE_FLOWS_REGISTRATION_AFTER_PASSWORD_HOOKS_0_CONFIG_AUTH_CONFIG_VALUE",
        "SELFSERVICE_FLOWS_SETTINGS_AFTER_HOOKS_0_CONFIG_AUTH_CONFIG_VALUE",
    ):
        assert "ORY_ACTION_API_KEY" in env[variable]
    assert "ORY_ACTION_API_KEY" in APP_ENV["ORY_ACTION_API_KEY"]
    # the identity schema the config names is committed, with the traits the hooks read
    [schema] = kratos["identity"]["schemas"]
    assert schema["url"] == "file:///etc/config/kratos/identity.schema.json"
    traits = json.loads((ROOT / "ory" / "kratos" / "identity.schema.json").read_text())
    assert set(traits["properties"]["traits"]["required"]) == {"public_key", "voucher_code"}


def test_services_start_in_order_with_health_conditions() -> None:
    def conditions(service: str) -> dict[str, str]:
        return {name: spec["condition"] for name, spec in SERVICES[service]["depends_on"].items()}

    assert conditions("app") == {
        "migrate": "service_completed_successfully",
        "kratos": "service_healthy",
        "hydra": "service_healthy",
        "keto": "service_healthy",
    }
    for ory in ("kratos", "hydra", "keto"):
        assert conditions(ory) == {f"{ory}-migrate": "service_completed_successfully"}
        assert conditions(f"{ory}-migrate") == {"postgres": "service_healthy"}
        assert "healthcheck" in SERVICES[ory]
    assert conditions("migrate") == {"postgres": "service_healthy"}
    assert SERVICES["migrate"]["command"] == ["moltnet", "migrate"]
    for service in ("postgres", "app"):
        assert "healthcheck" in SERVICES[service]
    assert "/health" in " ".join(SERVICES["app"]["healthcheck"]["test"])


def test_published_ports_and_database_urls() -> None:
    assert SERVICES["app"]["ports"] == ["8000:8000"]
    assert SERVICES["app"]["command"][-4:] == ["--host", "0.0.0.0", "--port", "8000"]  # noqa: S104 - inside its container
    # admin APIs are not published to the host
    published = {port.split(":")[0] for s in SERVICES.values() for port in s.get("ports", [])}
    assert published.isdisjoint({"4434", "4445", "4467"})
    assert _service_port(APP_ENV["DATABASE_URL"]) == ("postgres", 5432)
    for ory in ("kratos", "hydra", "keto"):
        dsn = SERVICES[ory]["environment"]["DSN"]
        assert re.search(rf"@postgres:5432/{ory}\b", dsn), dsn
        assert f"CREATE DATABASE {ory};" in (ROOT / "ory" / "postgres-init.sql").read_text()


def test_secrets_come_from_the_environment_file_only() -> None:
    lines = (ROOT / "docker-compose.yml").read_text().splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    for secret in ("POSTGRES_PASSWORD", "RECOVERY_CHALLENGE_SECRET", "ORY_ACTION_API_KEY"):
        assert f"${{{secret}:?" in text  # compose refuses to start without it
    example = (ROOT / ".env.example").read_text()
    for name in re.findall(r"\$\{([A-Z0-9_]+)", text):
        assert f"\n{name}=" in f"\n{example}", name
