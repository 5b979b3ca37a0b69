from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from moltnet.server_secrets import MissingSecrets, WeakSecret, resolve_secrets


def test_development_generates_missing_secrets_once_and_keeps_them(tmp_path: Path) -> None:
    first = resolve_secrets(tmp_path, {"A": None, "B": SecretStr("b" * 20)}, production=False)
    second = resolve_secrets(tmp_path, {"A": None, "B": SecretStr("b" * 20)}, production=False)
    assert first["A"].get_secret_value() == second["A"].get_secret_value()
    assert len(first["A"].get_secret_value()) >= 32
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert "b" * 20 not in (tmp_path / "secrets.json").read_text()  # provided ones are not written


def test_production_refuses_missing_secrets_naming_all(tmp_path: Path) -> None:
    with pytest.raises(MissingSecrets) as failure:
        resolve_secrets(tmp_path, {"X_SECRET": None, "Y_SECRET": None}, production=True)
    assert failure.value.names == ["X_SECRET", "Y_SECRET"]
    assert not (tmp_path / "secrets.json").exists()


def test_short_secrets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(WeakSecret, match="RECOVERY"):
        resolve_secrets(tmp_path, {"RECOVERY": SecretStr("short")}, production=True)


def test_secret_values_never_appear_in_repr(tmp_path: Path) -> None:
    resolved = resolve_secrets(tmp_path, {"A": SecretStr("s" * 40)}, production=True)
    assert "s" * 40 not in repr(resolved)
