"""Server secrets: required in production, generated and kept locally in development.

In development a missing secret is generated once and stored in
``<MOLTNET_HOME>/secrets.json`` (mode 0600), so restarts keep issued challenges and
webhook keys valid. In production every missing secret stops start-up, named.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

SECRETS_FILE = "secrets.json"
MIN_SECRET_LENGTH = 16


class MissingSecrets(RuntimeError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(
            "production start-up needs these secrets set in the environment: " + ", ".join(names)
        )
        self.names = names


class WeakSecret(RuntimeError):
    pass


def resolve_secrets(
    home: Path,
    provided: Mapping[str, SecretStr | None],
    *,
    production: bool,
) -> dict[str, SecretStr]:
    """Return a value for every name in ``provided`` (env var name -> value or None)."""
    missing = sorted(name for name, value in provided.items() if value is None)
    if production and missing:
        raise MissingSecrets(missing)
    resolved = {name: value for name, value in provided.items() if value is not None}
    if missing:
        stored = _load_or_create(home, missing)
        resolved.update({name: SecretStr(stored[name]) for name in missing})
    for name, value in resolved.items():
        if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise WeakSecret(f"{name} must be at least {MIN_SECRET_LENGTH} characters")
    return resolved


def _load_or_create(home: Path, names: list[str]) -> dict[str, str]:
    path = home / SECRETS_FILE
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
    if all(name in stored for name in names):
        return stored
    for name in names:
        stored.setdefault(name, secrets.token_urlsafe(32))
    home.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(stored, handle, indent=2)
    temporary.replace(path)  # atomic: a crash never leaves a half-written file
    return stored


SIGNING_KEYS_FILE = "oauth2-signing-keys.json"


def load_signing_keys_text(
    home: Path, provided: SecretStr | None, *, production: bool
) -> str | None:
    """The JSON key set of the embedded OAuth2 issuer: from OAUTH2_SIGNING_KEYS, or the
    file kept under MOLTNET_HOME in development (None: the caller generates and stores one).
    """
    if provided is not None:
        return provided.get_secret_value()
    if production:
        raise MissingSecrets(["OAUTH2_SIGNING_KEYS"])
    path = home / SIGNING_KEYS_FILE
    return path.read_text(encoding="utf-8") if path.exists() else None


def store_signing_keys_text(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    path = home / SIGNING_KEYS_FILE
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    temporary.replace(path)
