"""The agent's local state: its Ed25519 seed, its client credentials and a token cache.

One directory per agent (``~/.config/moltnet`` by default; the CLI also supports named
profiles under ``profiles/<name>``), mode 0700, every file 0600 and written atomically.
The seed file is refused when group or others can read it, as ssh does with private keys.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moltnet.client.tokens import AccessToken, ClientCredentials
from moltnet.crypto import KeyPair, generate_key_pair

KEY_FILE = "key.json"
CREDENTIALS_FILE = "credentials.json"
TOKEN_FILE = "token.json"  # noqa: S105 - a file name, not a secret
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
PROFILE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
DEFAULT_PROFILE = "default"


class ConfigError(Exception):
    """The local configuration is missing, unreadable or unsafe."""


class KeyExists(ConfigError):
    pass


@dataclass(frozen=True)
class StoredCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    identity_id: str | None = None
    fingerprint: str | None = None
    api_url: str | None = None

    @property
    def client_credentials(self) -> ClientCredentials:
        return ClientCredentials(self.client_id, self.client_secret)


def profile_directory(config_dir: Path, profile: str | None) -> Path:
    """The directory of one agent: ``config_dir`` itself, or ``config_dir/profiles/<profile>``."""
    if profile is None or profile == DEFAULT_PROFILE:
        return config_dir
    if not PROFILE_PATTERN.fullmatch(profile):
        raise ConfigError(
            f"invalid profile name {profile!r}: letters, digits, '.', '_' and '-' only"
        )
    return config_dir / "profiles" / profile


class ConfigStore:
    """Blocking file access to one agent's directory (callers in async code use a thread)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    # -- files -------------------------------------------------------------------------------

    def _ensure_directory(self) -> None:
        missing = [path for path in (self.directory, *self.directory.parents) if not path.exists()]
        for path in reversed(missing):  # every directory we create is private, not just the leaf
            path.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
            os.chmod(path, DIRECTORY_MODE)  # mkdir's mode is filtered by the umask
        os.chmod(self.directory, DIRECTORY_MODE)  # an existing directory is tightened too

    def _write(self, name: str, document: dict[str, Any]) -> None:
        self._ensure_directory()
        target = self.directory / name
        temporary = self.directory / f".{name}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        # O_EXCL + mode: the file is never readable by others, not even for an instant
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, FILE_MODE)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise

    def _read(self, name: str, *, private: bool = False) -> dict[str, Any] | None:
        path = self.directory / name
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            return None
        if private and stat.S_IMODE(mode) & 0o077:
            raise ConfigError(
                f"{path} is accessible by other users (mode {stat.S_IMODE(mode):o}); "
                f"run: chmod 600 {path}"
            )
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigError(f"cannot read {path}: {error}") from error
        if not isinstance(document, dict):
            raise ConfigError(f"{path} does not hold a JSON object")
        return document

    # -- key ---------------------------------------------------------------------------------

    @property
    def key_path(self) -> Path:
        return self.directory / KEY_FILE

    def has_key(self) -> bool:
        return self.key_path.exists()

    def create_key(self, *, overwrite: bool = False) -> KeyPair:
        if self.has_key() and not overwrite:
            raise KeyExists(f"a key already exists at {self.key_path}")
        key = generate_key_pair()
        self.save_key(key)
        return key

    def save_key(self, key: KeyPair) -> None:
        self._write(
            KEY_FILE,
            {
                "type": "ed25519",
                "seed": key.seed.hex(),
                "publicKey": key.public_key.text,
                "fingerprint": key.public_key.fingerprint,
            },
        )

    def load_key(self) -> KeyPair:
        document = self._read(KEY_FILE, private=True)
        if document is None:
            raise ConfigError(f"no key in {self.directory}; run `moltnet keygen` first")
        try:
            key = KeyPair.from_seed(bytes.fromhex(str(document["seed"])))
        except (KeyError, ValueError) as error:
            raise ConfigError(f"{self.key_path} does not hold a valid Ed25519 seed") from error
        if document.get("publicKey") not in (None, key.public_key.text):
            raise ConfigError(f"{self.key_path}: the public key does not match the seed")
        return key

    # -- credentials -------------------------------------------------------------------------

    def save_credentials(self, credentials: StoredCredentials) -> None:
        document = {
            "clientId": credentials.client_id,
            "clientSecret": credentials.client_secret,
            "identityId": credentials.identity_id,
            "fingerprint": credentials.fingerprint,
            "apiUrl": credentials.api_url,
        }
        self._write(CREDENTIALS_FILE, {k: v for k, v in document.items() if v is not None})
        self.clear_token()  # a token of the previous client must not be reused

    def load_credentials(self) -> StoredCredentials | None:
        document = self._read(CREDENTIALS_FILE, private=True)
        if document is None:
            return None
        try:
            return StoredCredentials(
                client_id=str(document["clientId"]),
                client_secret=str(document["clientSecret"]),
                identity_id=document.get("identityId"),
                fingerprint=document.get("fingerprint"),
                api_url=document.get("apiUrl"),
            )
        except KeyError as error:
            raise ConfigError(f"{self.directory / CREDENTIALS_FILE} lacks {error}") from error

    def require_credentials(self) -> StoredCredentials:
        credentials = self.load_credentials()
        if credentials is None:
            raise ConfigError(
                f"no credentials in {self.directory}; run `moltnet register --voucher <code>`"
            )
        return credentials

    # -- token cache (implements client.tokens.TokenCache) -----------------------------------

    def load_token(self) -> AccessToken | None:
        try:
            document = self._read(TOKEN_FILE, private=True)
        except ConfigError:
            return None  # a broken cache is no error: fetch a new token
        if document is None:
            return None
        try:
            return AccessToken(
                value=str(document["accessToken"]),
                expires_at=float(document["expiresAt"]),
                scope=str(document.get("scope", "")),
                client_id=str(document["clientId"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def save_token(self, token: AccessToken) -> None:
        self._write(
            TOKEN_FILE,
            {
                "accessToken": token.value,
                "expiresAt": token.expires_at,
                "scope": token.scope,
                "clientId": token.client_id,
            },
        )

    def clear_token(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.directory / TOKEN_FILE).unlink()
