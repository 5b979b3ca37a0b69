"""The OpenAPI document says what the API really answers.

FastAPI documents a 422 ``HTTPValidationError`` on every operation; MoltNet never
sends one (validation is a 400 problem, API.md §1.6). This replaces it with the
problem+json responses each operation can give, so clients and contract fuzzers
see the real status codes and media type.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from moltnet.errors import PROBLEM_TYPES
from moltnet.schemas.problems import Problem

PROBLEM_SCHEMA_REF = {"$ref": "#/components/schemas/Problem"}
# Routes that answer errors in other shapes (RFC 6749 for the token endpoint).
NON_PROBLEM_PREFIXES = ("/oauth2/",)


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA_REF}},
    }


def _generic_errors(path: str, operation: dict[str, Any], method: str) -> dict[str, str]:
    """Status codes any operation of this kind may answer (API.md §3 preamble)."""
    codes = {
        "413": "payload-too-large: body over 1 MiB",
        "429": "rate-limit-exceeded",
        "500": "internal-server-error",
        "503": "service-unavailable",
    }
    if operation.get("parameters") or operation.get("requestBody") or method != "get":
        codes["400"] = "validation-failed"
    if "{" in path:
        codes["404"] = "not-found: missing or not visible to the caller"
    if operation.get("requestBody"):
        codes["415"] = "unsupported-media-type"
    if operation.get("security"):
        codes["401"] = "unauthorized: missing or invalid token"
        codes["403"] = "forbidden or insufficient-scope"
    return codes


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Problem"] = Problem.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}"
    )
    for defs_name, definition in components["Problem"].pop("$defs", {}).items():
        components.setdefault(defs_name, definition)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            responses.pop("422", None)
            if path.startswith(NON_PROBLEM_PREFIXES):
                continue
            for code, description in _generic_errors(path, operation, method).items():
                existing = responses.get(code)
                if existing is None:
                    responses[code] = _problem_response(description)
                else:
                    existing.setdefault("content", {})["application/problem+json"] = {
                        "schema": PROBLEM_SCHEMA_REF
                    }
            for code, response in responses.items():
                if code.startswith(("4", "5")) and "content" not in response:
                    response["content"] = {
                        "application/problem+json": {"schema": PROBLEM_SCHEMA_REF}
                    }
    return schema


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            schema["info"]["x-problem-types"] = sorted(PROBLEM_TYPES)
            app.openapi_schema = document_problems(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
