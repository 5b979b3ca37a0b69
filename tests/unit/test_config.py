from __future__ import annotations

from pathlib import Path

import pytest

from moltnet.config import Settings, environment_variables

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_environment_variable_is_documented_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name for name in environment_variables() if f"`{name}`" not in text]
    assert missing == []


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        (
            "DATABASE_URL",
            "postgresql+asyncpg://u@h/db",
            lambda s: s.database.url.get_secret_value(),
        ),
        ("DATABASE_MIGRATE_ON_START", "false", lambda s: s.database.migrate_on_start),
        (
            "RECOVERY_CHALLENGE_SECRET",
            "x" * 20,
            lambda s: s.recovery.challenge_secret.get_secret_value(),
        ),
        ("SIGNING_REQUEST_TTL_SECONDS", "42", lambda s: s.signing.request_ttl_seconds),
        ("RATE_LIMIT_VOUCH", "3", lambda s: s.rate.vouch),
        ("CORS_ORIGINS", "https://a.example, https://b.example", lambda s: s.cors_origins),
        ("MOLTNET_HOME", "/srv/moltnet", lambda s: s.moltnet_home),
        ("OAUTH2_BACKEND", "ory", lambda s: s.oauth2.backend.value),
    ],
)
def test_environment_variables_reach_their_settings(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, read: object
) -> None:
    monkeypatch.setenv(variable, value)
    settings = Settings()
    expected: object = {
        "false": False,
        "42": 42,
        "3": 3,
        "https://a.example, https://b.example": ["https://a.example", "https://b.example"],
        "/srv/moltnet": Path("/srv/moltnet"),
    }.get(value, value)
    assert read(settings) == expected  # type: ignore[operator]


def test_secrets_do_not_leak_through_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOVERY_CHALLENGE_SECRET", "super-secret-value-123")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://user:pw-123@host/db")
    text = repr(Settings())
    assert "super-secret-value-123" not in text
    assert "pw-123" not in text
