"""The SDK stays an SDK: it imports only ``schemas`` and ``crypto`` from MoltNet (STYLE.md §1)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import moltnet.client

ALLOWED = ("moltnet.client", "moltnet.schemas", "moltnet.crypto")


def test_client_modules_import_only_schemas_and_crypto() -> None:
    package = Path(moltnet.client.__file__).parent
    offenders = []
    for module in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{module.name}: {name}"
                for name in names
                if name.startswith("moltnet") and not name.startswith(ALLOWED)
            ]
    assert offenders == []


def test_importing_the_client_loads_no_server_code() -> None:
    probe = (
        "import json, sys, moltnet.client;"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('moltnet'))))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout
    )
    assert [name for name in loaded if name != "moltnet" and not name.startswith(ALLOWED)] == []
