"""Contract fuzzing smoke run (the full run is ``make reliability``): Schemathesis drives every
operation of the live server's OpenAPI document with positive and negative data and
stateful sequences, as a registered agent with every scope. No 5xx, documented schemas
and media types, problem+json errors, no secret members (reliability/fuzz_checks.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from reliability.fuzz import authenticated_agent, run_schemathesis, summary

from tests.fixtures.server import ServerProcess


def test_schemathesis_smoke_finds_no_contract_violation(
    server: ServerProcess, tmp_path: Path
) -> None:
    bearer = authenticated_agent(server)
    result = run_schemathesis(server, bearer, report=tmp_path / "st.json", max_examples=5)
    outcome = summary(result)
    assert (outcome["operations"] or 0) >= 40, result["console"][-3000:]
    assert (outcome["generated"] or 0) > 500
    assert outcome["exit_code"] == 0, result["console"][-8000:]
    assert result["phases"]["stateful"]["status"] == "success", result["phases"]


def test_openapi_document_declares_the_problem_responses(server: ServerProcess) -> None:
    """Open defect: FastAPI documents its default 422 (which never appears, API.md §1.6) and
    no operation documents its problem+json errors, so clients and Schemathesis's
    status_code_conformance cannot know about 400/401/404. Fixed when every operation
    with a body or parameters documents 400 as application/problem+json and none 422."""
    spec: dict[str, Any] = httpx.get(f"{server.base_url}/openapi.json").json()
    wrong: list[str] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation.get("responses", {})
            if "422" in responses:
                wrong.append(f"{method.upper()} {path}: documents 422")
            if path.startswith("/oauth2/"):
                continue
            declared = responses.get("400", {}).get("content", {})
            has_input = operation.get("parameters") or operation.get("requestBody")
            if has_input and "application/problem+json" not in declared:
                wrong.append(f"{method.upper()} {path}: no problem+json 400")
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert not wrong, "\n".join(wrong)
