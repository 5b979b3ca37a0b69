"""The agent's local files: 0700 directory, 0600 files, refused when readable by others."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from moltnet.client import (
    AccessToken,
    ConfigError,
    ConfigStore,
    KeyExists,
    StoredCredentials,
    profile_directory,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_is_created_private_and_loads_back(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "agent")
    key = store.create_key()
    assert mode(store.directory) == 0o700
    assert mode(store.key_path) == 0o600
    assert store.load_key() == key
    assert key.seed.hex() not in repr(key)
    assert not list(store.directory.glob(".*.tmp"))


def test_existing_directory_is_tightened(tmp_path: Path) -> None:
    directory = tmp_path / "agent"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    ConfigStore(directory).create_key()
    assert mode(directory) == 0o700


def test_key_is_not_overwritten_without_asking(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path)
    first = store.create_key()
    with pytest.raises(KeyExists):
        store.create_key()
    assert store.load_key() == first
    assert store.create_key(overwrite=True) != first


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path)
    store.create_key()
    store.key_path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        store.load_key()


def test_missing_key_and_credentials_explain_what_to_run(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path)
    with pytest.raises(ConfigError, match="moltnet keygen"):
        store.load_key()
    with pytest.raises(ConfigError, match="moltnet register"):
        store.require_credentials()


def test_credentials_round_trip_and_drop_the_token(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path)
    store.save_token(AccessToken("tok", 10.0, "diary:read", "old-client"))
    assert store.load_token() == AccessToken("tok", 10.0, "diary:read", "old-client")
    credentials = StoredCredentials("cid", "secret", identity_id="i", fingerprint="F")
    store.save_credentials(credentials)
    assert store.load_credentials() == credentials
    assert mode(tmp_path / "credentials.json") == 0o600
    assert store.load_token() is None
    assert "secret" not in repr(credentials)


def test_corrupt_token_cache_is_ignored(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path)
    store.save_token(AccessToken("tok", 10.0, "", "c"))
    (tmp_path / "token.json").write_text("{not json")
    assert store.load_token() is None


def test_profiles_live_side_by_side(tmp_path: Path) -> None:
    assert profile_directory(tmp_path, None) == tmp_path
    assert profile_directory(tmp_path, "default") == tmp_path
    alice = ConfigStore(profile_directory(tmp_path, "alice"))
    bob = ConfigStore(profile_directory(tmp_path, "bob"))
    assert alice.create_key() != bob.create_key()
    assert alice.directory == tmp_path / "profiles" / "alice"
    assert mode(tmp_path / "profiles") == 0o700
    for bad in ("../escape", "", "a/b", ".hidden"):
        with pytest.raises(ConfigError):
            profile_directory(tmp_path, bad)
