"""Settings: the only module that reads the environment.

Groups map to environment variables by their first word (``DATABASE_URL`` is
``database.url``, ``RECOVERY_CHALLENGE_SECRET`` is ``recovery.challenge_secret``).
Every other module receives values, never reads ``os.environ``.
"""

from __future__ import annotations

import enum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

APP_VERSION = "0.1.0"


class Environment(enum.StrEnum):
    development = "development"
    test = "test"
    production = "production"


class BackendKind(enum.StrEnum):
    embedded = "embedded"
    ory = "ory"


class DatabaseSettings(BaseModel):
    url: SecretStr | None = None  # DATABASE_URL; unset means the embedded Postgres
    pgdata: Path | None = None  # DATABASE_PGDATA; default <MOLTNET_HOME>/pgdata
    pool_size: int = Field(default=10, ge=1, le=200)  # DATABASE_POOL_SIZE
    max_overflow: int = Field(default=10, ge=0, le=200)  # DATABASE_MAX_OVERFLOW
    name: str = "moltnet"  # DATABASE_NAME: database created inside the embedded server
    migrate_on_start: bool = True  # DATABASE_MIGRATE_ON_START


class RecoverySettings(BaseModel):
    challenge_secret: SecretStr | None = None  # RECOVERY_CHALLENGE_SECRET (>= 16 chars)
    code_ttl_seconds: int = Field(default=900, ge=60, le=86_400)  # RECOVERY_CODE_TTL_SECONDS


class OrySettings(BaseModel):
    action_api_key: SecretStr | None = None  # ORY_ACTION_API_KEY: webhook shared secret
    api_key: SecretStr | None = None  # ORY_API_KEY: bearer for Ory Network admin APIs
    kratos_admin_url: str = "http://kratos:4434"  # ORY_KRATOS_ADMIN_URL
    kratos_public_url: str = "http://kratos:4433"  # ORY_KRATOS_PUBLIC_URL
    hydra_admin_url: str = "http://hydra:4445"  # ORY_HYDRA_ADMIN_URL
    hydra_public_url: str = "http://hydra:4444"  # ORY_HYDRA_PUBLIC_URL
    keto_read_url: str = "http://keto:4466"  # ORY_KETO_READ_URL
    keto_write_url: str = "http://keto:4467"  # ORY_KETO_WRITE_URL
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)  # ORY_TIMEOUT_SECONDS


class IdentitySettings(BaseModel):
    backend: BackendKind = BackendKind.embedded  # IDENTITY_BACKEND
    # IDENTITY_TEST_STEP_DELAY_SECONDS: pause inside the registration's persist step, so
    # crash tests can SIGKILL a server mid-registration; ignored in production.
    test_step_delay_seconds: float = Field(default=0.0, ge=0, le=60)
    # IDENTITY_REGISTRATION_TIMEOUT_SECONDS: how long POST /auth/register waits for its
    # workflow before answering 503 (the workflow itself goes on).
    registration_timeout_seconds: float = Field(default=30.0, gt=0, le=300)


class PermissionsSettings(BaseModel):
    backend: BackendKind = BackendKind.embedded  # PERMISSIONS_BACKEND


class OAuth2Settings(BaseModel):
    backend: BackendKind = BackendKind.embedded  # OAUTH2_BACKEND
    access_token_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)
    issuer: str | None = None  # OAUTH2_ISSUER; default PUBLIC_BASE_URL
    audience: str | None = None  # OAUTH2_AUDIENCE; checked when set
    jwks_url: str | None = None  # OAUTH2_JWKS_URL; Ory mode: Hydra's /.well-known/jwks.json
    signing_keys: SecretStr | None = None  # OAUTH2_SIGNING_KEYS: JSON key set (production)


class SigningSettings(BaseModel):
    request_ttl_seconds: int = Field(default=300, ge=1, le=3600)  # SIGNING_REQUEST_TTL_SECONDS
    max_pending_requests: int = Field(default=10, ge=1, le=1000)  # SIGNING_MAX_PENDING_REQUESTS


class EmbedSettings(BaseModel):
    model_path: Path | None = None  # EMBED_MODEL_PATH; default: the packaged MiniLM int8
    tokenizer_path: Path | None = None  # EMBED_TOKENIZER_PATH
    model_id: str | None = None  # EMBED_MODEL_ID; default derived from the model
    threads: int = Field(default=1, ge=1, le=64)  # EMBED_THREADS (intra-op per inference)
    max_concurrent: int = Field(default=2, ge=1, le=64)  # EMBED_MAX_CONCURRENT


class RateLimitSettings(BaseModel):
    global_auth: int = Field(default=100, ge=0)  # RATE_LIMIT_GLOBAL_AUTH
    global_anon: int = Field(default=30, ge=0)  # RATE_LIMIT_GLOBAL_ANON
    embedding: int = Field(default=20, ge=0)  # RATE_LIMIT_EMBEDDING
    vouch: int = Field(default=10, ge=0)  # RATE_LIMIT_VOUCH
    signing: int = Field(default=5, ge=0)  # RATE_LIMIT_SIGNING
    recovery: int = Field(default=5, ge=0)  # RATE_LIMIT_RECOVERY
    public_verify: int = Field(default=10, ge=0)  # RATE_LIMIT_PUBLIC_VERIFY
    public_search: int = Field(default=15, ge=0)  # RATE_LIMIT_PUBLIC_SEARCH
    registration: int = Field(default=5, ge=0)  # RATE_LIMIT_REGISTRATION
    storage_uri: str = "memory://"  # RATE_LIMIT_STORAGE_URI (e.g. redis://... for many machines)


class DbosSettings(BaseModel):
    queue_polling_seconds: float = Field(default=0.1, gt=0, le=5)  # DBOS_QUEUE_POLLING_SECONDS
    application_version: str = APP_VERSION  # DBOS_APPLICATION_VERSION


class OtelSettings(BaseModel):
    """The standard OpenTelemetry variables we act on; the SDK reads the rest itself
    (``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_RESOURCE_ATTRIBUTES``, ...)."""

    exporter_otlp_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT: unset = no-op
    exporter_otlp_traces_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    exporter_otlp_metrics_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
    service_name: str = "moltnet"  # OTEL_SERVICE_NAME
    sdk_disabled: bool = False  # OTEL_SDK_DISABLED

    @property
    def enabled(self) -> bool:
        endpoints = (
            self.exporter_otlp_endpoint,
            self.exporter_otlp_traces_endpoint,
            self.exporter_otlp_metrics_endpoint,
        )
        return not self.sdk_disabled and any(endpoints)


class LogSettings(BaseModel):
    level: str = "INFO"  # LOG_LEVEL
    format: str = "json"  # LOG_FORMAT: json | console


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
        case_sensitive=False,
    )

    environment: Environment = Environment.development
    moltnet_home: Path = Path(".moltnet")  # MOLTNET_HOME: all local state lives here
    public_base_url: str = "http://127.0.0.1:8000"  # PUBLIC_BASE_URL
    trust_proxy: int = Field(default=0, ge=0, le=10)  # TRUST_PROXY: X-Forwarded-For hops
    cors_origins: Annotated[list[str], NoDecode] = []  # CORS_ORIGINS: comma separated
    trusted_hosts: Annotated[list[str], NoDecode] = []  # TRUSTED_HOSTS: comma separated
    request_timeout_seconds: float = Field(default=30.0, gt=0, le=600)  # REQUEST_TIMEOUT_SECONDS

    database: DatabaseSettings = DatabaseSettings()
    recovery: RecoverySettings = RecoverySettings()
    ory: OrySettings = OrySettings()
    identity: IdentitySettings = IdentitySettings()
    permissions: PermissionsSettings = PermissionsSettings()
    oauth2: OAuth2Settings = OAuth2Settings()
    signing: SigningSettings = SigningSettings()
    embed: EmbedSettings = EmbedSettings()
    rate: RateLimitSettings = Field(default_factory=RateLimitSettings, alias="rate_limit")
    dbos: DbosSettings = DbosSettings()
    log: LogSettings = LogSettings()
    otel: OtelSettings = OtelSettings()

    @field_validator("cors_origins", "trusted_hosts", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @property
    def pgdata(self) -> Path:
        return self.database.pgdata or self.moltnet_home / "pgdata"

    @property
    def issuer(self) -> str:
        return self.oauth2.issuer or self.public_base_url.rstrip("/")

    @property
    def token_audience(self) -> str:
        """``aud`` of the embedded issuer's tokens: the configured audience, else the issuer."""
        return self.oauth2.audience or self.issuer

    @property
    def uses_ory(self) -> bool:
        return BackendKind.ory in (
            self.identity.backend,
            self.oauth2.backend,
            self.permissions.backend,
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()


def environment_variables() -> dict[str, object]:
    """Every environment variable the settings read, with its default (for docs and tests)."""
    names: dict[str, object] = {}
    for name, field in Settings.model_fields.items():
        prefix = (field.alias or name).upper()
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub_name, sub_field in annotation.model_fields.items():
                names[f"{prefix}_{sub_name.upper()}"] = sub_field.default
        else:
            names[prefix] = field.default
    return names
